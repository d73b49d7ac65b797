//! Who may read what. The only access rule fake-dc models is AD's read scopes: an account
//! given `readScopes:` in the fixture sees only those subtrees, the way a service account
//! delegated read on a few OUs does. Searches, compares and base resolution all ask here,
//! so a scoped account never learns of an entry through one operation that another hides.

use super::{Directory, EntryId};

impl Directory {
    /// Whether `account` may read `id`: accounts with read scopes see only those subtrees
    /// (and themselves); others see everything.
    pub fn can_read(&self, account: Option<EntryId>, id: EntryId) -> bool {
        let Some(acc) = account else { return true };
        match &self.entry(acc).read_scopes {
            None => true,
            Some(scopes) => id == acc || scopes.iter().any(|s| self.is_within(id, *s)),
        }
    }

    /// Whether `account` may use `id` as a search base. A read-scoped account may start
    /// above its scopes (the domain head, say): the ancestors of what it may read are
    /// traversable, and only what it may read comes back.
    pub fn can_start_at(&self, account: EntryId, id: EntryId) -> bool {
        let traversable = self
            .entry(account)
            .read_scopes
            .as_ref()
            .is_some_and(|scopes| scopes.iter().any(|s| self.is_within(*s, id)));
        traversable || self.can_read(Some(account), id)
    }

    /// Whether `account` holds "Replicating Directory Changes" on the naming context
    /// headed by `head`, itself or through a group (`replication_grants`).
    pub fn can_replicate(&self, account: EntryId, head: EntryId) -> bool {
        let groups = self.transitive_member_of(account);
        self.replication_grants
            .iter()
            .any(|(nc, who)| *nc == head && (*who == account || groups.contains(who)))
    }
}
