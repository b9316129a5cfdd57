//! Task placement on container instances, as the ECS scheduler decides it for the EC2 launch
//! type: an instance must have the task's CPU and memory left, satisfy the `memberOf`
//! constraints (evaluated by the caller, who holds the state) and, with `distinctInstance`, run
//! no other task of the task's group; among those left, the `placementStrategy` entries pick in
//! order (`binpack` on cpu or memory: least left first; `spread` on `instanceId`/`host` or an
//! attribute: fewest of the group's tasks first; `random`), each breaking the ties of the one
//! before.

use std::collections::BTreeMap;

use crate::model::{PlacementStrategy, PlacementStrategyType};

/// One container instance as placement sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Candidate {
    /// Its ARN.
    pub arn: String,
    /// CPU units left.
    pub cpu: i64,
    /// MiB of memory left.
    pub memory: i64,
    /// The groups of the tasks it runs (not stopped), one entry per task.
    pub groups: Vec<String>,
    /// Its attributes, by name.
    pub attributes: BTreeMap<String, String>,
    /// Whether it satisfies the `memberOf` constraints.
    pub member: bool,
}

/// One strategy entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Least left first.
    Binpack {
        /// CPU (true) or memory (false).
        cpu: bool,
    },
    /// Fewest of the group's tasks first.
    Spread {
        /// Counted per value of this attribute; `None`: per instance.
        attribute: Option<String>,
    },
    /// Any.
    Random,
}

/// Reads `placementStrategy` (ECS's rules for `field`).
pub fn strategies(given: &[PlacementStrategy]) -> Result<Vec<Strategy>, String> {
    given
        .iter()
        .map(|s| {
            let field = s.field.as_deref().unwrap_or_default();
            match s.r#type {
                Some(PlacementStrategyType::Binpack) => match field.to_ascii_lowercase().as_str() {
                    "cpu" => Ok(Strategy::Binpack { cpu: true }),
                    "memory" => Ok(Strategy::Binpack { cpu: false }),
                    _ => Err(format!(
                        "Invalid field '{field}' for binpack: cpu or memory."
                    )),
                },
                Some(PlacementStrategyType::Spread) => match field {
                    "" => Err("A spread placement strategy needs a field.".into()),
                    "instanceId" | "host" => Ok(Strategy::Spread { attribute: None }),
                    f => Ok(Strategy::Spread {
                        attribute: Some(f.strip_prefix("attribute:").unwrap_or(f).to_string()),
                    }),
                },
                Some(PlacementStrategyType::Random) | None => Ok(Strategy::Random),
            }
        })
        .collect()
}

/// What one task asks of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Need {
    /// CPU units.
    pub cpu: i64,
    /// MiB of memory.
    pub memory: i64,
    /// The task's group.
    pub group: String,
    /// `distinctInstance`: no other task of the group on the instance.
    pub distinct: bool,
}

/// Why an instance cannot take the task, as ECS reports it in `failures`.
pub fn refusal(c: &Candidate, need: &Need) -> Option<&'static str> {
    if !c.member {
        Some("MemberOf placement constraint unsatisfied.")
    } else if need.distinct && c.groups.contains(&need.group) {
        Some("DistinctInstance placement constraint unsatisfied.")
    } else if c.cpu < need.cpu {
        Some("RESOURCE:CPU")
    } else if c.memory < need.memory {
        Some("RESOURCE:MEMORY")
    } else {
        None
    }
}

/// The index of the instance the next task goes to, among those that can take it, or the
/// refusals (instance ARN, reason) when none can. `random` draws a number.
pub fn choose(
    candidates: &[Candidate],
    need: &Need,
    strategies: &[Strategy],
    random: &mut impl FnMut() -> u64,
) -> Result<usize, Vec<(String, &'static str)>> {
    let mut able: Vec<usize> = (0..candidates.len())
        .filter(|&i| refusal(&candidates[i], need).is_none())
        .collect();
    if able.is_empty() {
        return Err(candidates
            .iter()
            .filter_map(|c| Some((c.arn.clone(), refusal(c, need)?)))
            .collect());
    }
    for strategy in strategies {
        let score = |i: usize| -> i64 {
            let c = &candidates[i];
            match strategy {
                Strategy::Binpack { cpu: true } => c.cpu,
                Strategy::Binpack { cpu: false } => c.memory,
                Strategy::Spread { attribute: None } => count_group(c, &need.group),
                Strategy::Spread {
                    attribute: Some(name),
                } => {
                    let value = c.attributes.get(name);
                    candidates
                        .iter()
                        .filter(|o| o.attributes.get(name) == value)
                        .map(|o| count_group(o, &need.group))
                        .sum()
                }
                Strategy::Random => 0,
            }
        };
        if *strategy == Strategy::Random {
            let pick = able[(random() % able.len() as u64) as usize];
            able = vec![pick];
        } else if let Some(best) = able.iter().map(|&i| score(i)).min() {
            able.retain(|&i| score(i) == best);
        }
    }
    Ok(able[0])
}

fn count_group(c: &Candidate, group: &str) -> i64 {
    c.groups.iter().filter(|g| *g == group).count() as i64
}

/// Records the task placed on `c`.
pub fn take(c: &mut Candidate, need: &Need) {
    c.cpu -= need.cpu;
    c.memory -= need.memory;
    c.groups.push(need.group.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(arn: &str, cpu: i64, memory: i64) -> Candidate {
        Candidate {
            arn: arn.into(),
            cpu,
            memory,
            member: true,
            ..Candidate::default()
        }
    }

    fn need(cpu: i64, memory: i64) -> Need {
        Need {
            cpu,
            memory,
            group: "family:app".into(),
            distinct: false,
        }
    }

    fn never() -> impl FnMut() -> u64 {
        || 0
    }

    #[test]
    fn resources_decide_and_refusals_name_each_instance() {
        let cs = [candidate("a", 100, 1000), candidate("b", 2000, 100)];
        let err = choose(&cs, &need(512, 512), &[], &mut never()).unwrap_err();
        assert_eq!(
            err,
            vec![
                ("a".into(), "RESOURCE:CPU"),
                ("b".into(), "RESOURCE:MEMORY")
            ]
        );
        assert_eq!(choose(&cs, &need(100, 100), &[], &mut never()), Ok(0));
    }

    #[test]
    fn binpack_fills_the_fullest_and_spread_the_emptiest() {
        let mut cs = vec![candidate("a", 1000, 4000), candidate("b", 500, 8000)];
        let cpu = [Strategy::Binpack { cpu: true }];
        let memory = [Strategy::Binpack { cpu: false }];
        assert_eq!(choose(&cs, &need(100, 100), &cpu, &mut never()), Ok(1));
        assert_eq!(choose(&cs, &need(100, 100), &memory, &mut never()), Ok(0));
        let spread = [Strategy::Spread { attribute: None }];
        take(&mut cs[0], &need(100, 100));
        assert_eq!(choose(&cs, &need(100, 100), &spread, &mut never()), Ok(1));
        take(&mut cs[1], &need(100, 100));
        take(&mut cs[1], &need(100, 100));
        assert_eq!(choose(&cs, &need(100, 100), &spread, &mut never()), Ok(0));
    }

    #[test]
    fn spread_on_an_attribute_balances_its_values() {
        let mut cs = vec![
            candidate("a1", 1000, 1000),
            candidate("a2", 1000, 1000),
            candidate("b1", 1000, 1000),
        ];
        for (c, zone) in cs.iter_mut().zip(["a", "a", "b"]) {
            c.attributes.insert("zone".into(), zone.into());
        }
        take(&mut cs[0], &need(1, 1));
        let spread = strategies(&[PlacementStrategy {
            r#type: Some(PlacementStrategyType::Spread),
            field: Some("attribute:zone".into()),
        }])
        .unwrap();
        assert_eq!(choose(&cs, &need(1, 1), &spread, &mut never()), Ok(2));
    }

    #[test]
    fn constraints_refuse_and_random_picks_among_the_able() {
        let mut cs = vec![candidate("a", 1000, 1000), candidate("b", 1000, 1000)];
        cs[0].member = false;
        let mut n = need(1, 1);
        assert_eq!(choose(&cs, &n, &[Strategy::Random], &mut || 7), Ok(1));
        n.distinct = true;
        take(&mut cs[1], &n);
        let err = choose(&cs, &n, &[], &mut never()).unwrap_err();
        assert_eq!(err[0].1, "MemberOf placement constraint unsatisfied.");
        assert_eq!(
            err[1].1,
            "DistinctInstance placement constraint unsatisfied."
        );
        assert!(strategies(&[PlacementStrategy {
            r#type: Some(PlacementStrategyType::Binpack),
            field: Some("disk".into()),
        }])
        .is_err());
    }
}
