//! The fuzz run's table and JUnit XML.

use std::fmt::Write as _;

use super::run::Summary;

/// The table: property × cases run × failures, then each shrunk failure.
pub fn table(summary: &Summary, skipped: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<26}  {:>9}  {:>8}", "property", "cases", "failures");
    for (p, (cases, failures)) in &summary.table {
        let _ = writeln!(out, "{:<26}  {:>9}  {:>8}", p.name(), cases, failures);
    }
    for name in skipped {
        let _ = writeln!(out, "{name:<26}  {:>9}  {:>8}", "not claimed", "-");
    }
    for f in &summary.failures {
        let _ = writeln!(
            out,
            "\n--- {} (case {}): {}",
            f.property.name(),
            f.case,
            f.message
        );
        match (&f.file, &f.write_error) {
            (Some(file), _) => {
                let _ = writeln!(out, "shrunk scenario: {}", file.display());
            }
            (None, Some(e)) => {
                let _ = writeln!(out, "the shrunk scenario could not be written: {e}");
            }
            (None, None) => {}
        }
    }
    for e in &summary.errors {
        let _ = writeln!(out, "\n--- a case could not be played: {e}");
    }
    out
}

/// JUnit XML: one test case per property, failed with its shrunk scenario's path.
pub fn junit(summary: &Summary, engine: &str) -> Result<String, quick_junit::SerializeError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("fuzz ({engine})"));
    for (p, (cases, failures)) in &summary.table {
        let status = if *failures == 0 {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("{failures} of {cases} cases failed"));
            if let Some(f) = summary.failures.iter().find(|f| f.property == *p) {
                let file = f.file.as_ref().map_or_else(String::new, |p| {
                    format!("\nshrunk scenario: {}", p.display())
                });
                s.set_description(format!("{}{file}", f.message));
            }
            s
        };
        let mut case = TestCase::new(p.name(), status);
        case.set_classname("fuzz");
        suite.add_test_case(case);
    }
    let mut report = Report::new("harness fuzz");
    report.add_test_suite(suite);
    report.to_string()
}
