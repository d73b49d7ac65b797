use fake_dc::fixture::{load_file, LoadOptions};
#[test]
fn loads() {
    for f in ["small-org", "two-domain-forest", "large-100k"] {
        let t = std::time::Instant::now();
        let dir = load_file(std::path::Path::new(&format!("../fixtures/{f}.yaml")), LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        println!("{f}: {} entries in {:?}", dir.len(), t.elapsed());
    }
}
