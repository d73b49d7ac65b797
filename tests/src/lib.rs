//! Workspace-level tests live in `tests/`; the library holds what several of them share:
//! the loader that puts a fake-dc fixture into the Samba AD DC of `scripts/samba-ad`.

pub mod samba_load;
