//! How a plan names the directory object behind a conflict or an out-of-domain address.

use crate::change::{ObjectKind, ObjectRef};
use crate::snapshot::{DirContact, DirGroup, DirUser};

pub(super) fn user_ref(user: &DirUser) -> ObjectRef {
    ObjectRef {
        kind: ObjectKind::User,
        guid: user.guid,
        dn: user.dn.clone(),
    }
}

pub(super) fn group_ref(group: &DirGroup) -> ObjectRef {
    ObjectRef {
        kind: ObjectKind::Group,
        guid: group.guid,
        dn: group.dn.clone(),
    }
}

pub(super) fn contact_ref(contact: &DirContact) -> ObjectRef {
    ObjectRef {
        kind: ObjectKind::Contact,
        guid: contact.guid,
        dn: contact.dn.clone(),
    }
}
