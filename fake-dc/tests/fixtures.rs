use fake_dc::fixture::{load_file, LoadOptions};
#[test]
fn small_org_loads() {
    let dir = load_file(std::path::Path::new("../fixtures/small-org.yaml"), LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    println!("{} entries", dir.len());
}
