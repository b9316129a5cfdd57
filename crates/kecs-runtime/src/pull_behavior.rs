//! When an image is pulled, as the ECS agent's `ECS_IMAGE_PULL_BEHAVIOR` says.

use std::fmt;
use std::str::FromStr;

/// The ECS agent's image pull behaviours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullBehavior {
    /// Pull every time; when the pull fails, use the cached image if there is one.
    #[default]
    Default,
    /// Pull every time; a failed pull fails the task.
    Always,
    /// Pull the first time this KECS uses the image; then use the cached one.
    Once,
    /// Pull only when the image is not cached.
    PreferCached,
}

impl PullBehavior {
    /// The name used in configuration (`--image-pull`).
    pub fn as_str(&self) -> &'static str {
        match self {
            PullBehavior::Default => "default",
            PullBehavior::Always => "always",
            PullBehavior::Once => "once",
            PullBehavior::PreferCached => "prefer-cached",
        }
    }

    /// Whether an image is pulled, given whether the engine has it and whether this KECS
    /// pulled it before.
    pub fn pulls(&self, cached: bool, pulled_before: bool) -> bool {
        match self {
            PullBehavior::Default | PullBehavior::Always => true,
            PullBehavior::Once => !(cached && pulled_before),
            PullBehavior::PreferCached => !cached,
        }
    }

    /// Whether a failed pull may fall back to the cached image.
    pub fn falls_back(&self) -> bool {
        *self == PullBehavior::Default
    }
}

impl fmt::Display for PullBehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An image pull behaviour KECS does not know (the name given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown image pull behaviour '{0}': expected default, always, once or prefer-cached")]
pub struct UnknownPullBehavior(pub String);

impl FromStr for PullBehavior {
    type Err = UnknownPullBehavior;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            PullBehavior::Default,
            PullBehavior::Always,
            PullBehavior::Once,
            PullBehavior::PreferCached,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
        .ok_or_else(|| UnknownPullBehavior(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_behaviour_pulls_as_the_agent_documents() {
        use PullBehavior::*;
        // (cached, pulled before) -> pulls?
        let table = [
            (Default, [true, true, true]),
            (Always, [true, true, true]),
            (Once, [true, true, false]),
            (PreferCached, [true, false, false]),
        ];
        for (behavior, want) in table {
            let got =
                [(false, false), (true, false), (true, true)].map(|(c, p)| behavior.pulls(c, p));
            assert_eq!(got, want, "{behavior}");
        }
        assert!(Default.falls_back() && !Always.falls_back());
        assert_eq!("prefer-cached".parse::<PullBehavior>(), Ok(PreferCached));
        assert!("sometimes".parse::<PullBehavior>().is_err());
    }
}
