//! Plays one case through the scenario runner and judges it: the run itself, then the
//! variant runs the comparing properties need (full syncs for delta ones, another page
//! size).

use std::collections::BTreeSet;
use std::path::Path;

use super::case::{Case, EntryOrder, GenStep, Plan};
use super::property::{self, Property, Violation};
use super::record::{Call, Recorder};
use super::write;
use crate::scenario::{self, LoadedScenario};
use engine_contract::engine::SyncEngine;

/// What one case showed.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    /// The properties it broke (at most one violation per property).
    pub violations: Vec<Violation>,
    /// Set when the case could not be played (a bug of the generator, not the engine).
    pub error: Option<String>,
}

/// How a violation is written: which case (the variant that showed it) and its steps.
#[derive(Debug, Clone)]
pub struct Found {
    /// The case to write.
    pub case: Case,
    /// What broke.
    pub violation: Violation,
}

/// Plays `case` against `engine`, judging the properties in `wanted`.
pub async fn judge(
    case: &Case,
    engine: &dyn SyncEngine,
    wanted: &BTreeSet<Property>,
) -> (Judged, Vec<Found>) {
    let plan = case.plan();
    let base = match play(case, &plan, engine).await {
        Ok(calls) => calls,
        Err(e) => {
            return (
                Judged {
                    violations: Vec::new(),
                    error: Some(e),
                },
                Vec::new(),
            )
        }
    };
    let answers = property::pair(&plan, &base);
    let mut found: Vec<Found> = Vec::new();
    for v in property::judge(&answers, wanted) {
        if !found.iter().any(|f| f.violation.property == v.property) {
            found.push(Found {
                case: case.clone(),
                violation: v,
            });
        }
    }
    let mut error = None;
    if wanted.contains(&Property::DeltaEqualsFull)
        && case.steps.iter().any(|s| matches!(s, GenStep::DeltaSync))
    {
        let mut full = case.clone();
        for s in &mut full.steps {
            if matches!(s, GenStep::DeltaSync) {
                *s = GenStep::Sync;
            }
        }
        match variant(&full, engine).await {
            Ok((plan, calls)) => {
                let other = property::pair(&plan, &calls);
                if let Some(v) = property::compare(
                    Property::DeltaEqualsFull,
                    &answers,
                    &other,
                    "the delta sync's account differs from a full sync's",
                ) {
                    found.push(Found {
                        case: case.clone(),
                        violation: v,
                    });
                }
            }
            Err(e) => error = Some(e),
        }
    }
    // The written side of each comparison is the unusual server (small ranges, another
    // order): that is where engines go wrong, and AD's default is the likelier reference.
    let comparisons = [
        (Property::RangeSizeIndependence, {
            let mut other = case.clone();
            other.range_size = if case.range_size >= 1500 { 5 } else { 1500 };
            other
        }),
        (Property::EntryOrderIndependence, {
            let mut other = case.clone();
            other.entry_order = if case.entry_order == EntryOrder::Directory {
                EntryOrder::Reverse
            } else {
                EntryOrder::Directory
            };
            other
        }),
    ];
    for (property, other) in comparisons {
        if !wanted.contains(&property) {
            continue;
        }
        match variant(&other, engine).await {
            Ok((plan, calls)) => {
                let others = property::pair(&plan, &calls);
                let base_is_usual =
                    case.range_size >= 1500 && case.entry_order == EntryOrder::Directory;
                let (checked, reference, written) = if base_is_usual {
                    (&others, &answers, &other)
                } else {
                    (&answers, &others, case)
                };
                let what = format!(
                    "with member ranges of {} and entries in {} order the account differs \
                     from ranges of {} in {} order",
                    written.range_size,
                    written.entry_order.name(),
                    if written.range_size == case.range_size {
                        other.range_size
                    } else {
                        case.range_size
                    },
                    if written.entry_order == case.entry_order {
                        other.entry_order.name()
                    } else {
                        case.entry_order.name()
                    },
                );
                if let Some(v) = property::compare(property, checked, reference, &what) {
                    found.push(Found {
                        case: written.clone(),
                        violation: v,
                    });
                }
            }
            Err(e) => error = Some(e),
        }
    }
    (
        Judged {
            violations: found.iter().map(|f| f.violation.clone()).collect(),
            error,
        },
        found,
    )
}

async fn variant(case: &Case, engine: &dyn SyncEngine) -> Result<(Plan, Vec<Call>), String> {
    let plan = case.plan();
    let calls = play(case, &plan, engine).await?;
    Ok((plan, calls))
}

/// Runs the case's scenario; the engine's sync exchanges, in order.
async fn play(case: &Case, plan: &Plan, engine: &dyn SyncEngine) -> Result<Vec<Call>, String> {
    // The runner refuses a scenario without an expectation; this one's verdict is never
    // read (the properties judge the recorded answers), so any will do.
    let last = plan.steps.len().saturating_sub(1);
    let expect = write::map([(
        "last-sync",
        write::map([("outcome", serde_yaml::Value::from("applied"))]),
    )]);
    let doc = write::scenario(case, plan, "fuzz case", None, &[(last, expect)], None);
    let text = serde_yaml::to_string(&doc).map_err(|e| format!("writing the case: {e}"))?;
    let loaded = LoadedScenario::parse(Path::new("fuzz-case.yaml"), text.clone())
        .map_err(|e| format!("the generated scenario is invalid: {e}\n{text}"))?;
    let recorder = Recorder::new(engine);
    scenario::run(&loaded, &recorder)
        .await
        .map_err(|e| format!("the generated scenario could not run: {e}\n{text}"))?;
    Ok(recorder.calls())
}
