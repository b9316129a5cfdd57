//! What a container "runs": the simulated kubelet reads a small shell subset from the
//! container's command and args — `sleep N`, `exit N`, `true`, `false`, `echo …`, separated by
//! `;`, `&&` or new lines — and treats anything else (or no command: the image's own) as a
//! process that runs until it is stopped.

use std::time::Duration;

/// How a container behaves once started.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// How long it runs before exiting on its own; `None`: until stopped.
    pub runs_for: Option<Duration>,
    /// Its exit code when it exits on its own.
    pub exit_code: i32,
    /// What it writes to stdout.
    pub output: Vec<String>,
    /// Whether it exits on SIGTERM (a shell or `sleep` as PID 1 does not: it is killed after
    /// the grace period, 137).
    pub handles_term: bool,
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').trim_matches('\'').to_string()
}

/// The program of a container whose command and args are `words`.
pub fn parse(words: &[String]) -> Program {
    let text = words.join(" ");
    let script = match words {
        [sh, flag, rest @ ..] if sh.ends_with("sh") && flag == "-c" => rest.join(" "),
        _ => text.clone(),
    };
    let mut program = Program {
        runs_for: Some(Duration::ZERO),
        exit_code: 0,
        output: vec![],
        handles_term: text.contains("trap"),
    };
    if script.trim().is_empty() || script.contains("while") || script.contains("tail -f") {
        program.runs_for = None;
        return program;
    }
    for step in script
        .split(['\n', ';'])
        .flat_map(|s| s.split("&&"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (cmd, arg) = step.split_once(' ').unwrap_or((step, ""));
        match cmd {
            "sleep" => {
                let secs: f64 = arg.trim().parse().unwrap_or(0.0);
                if let Some(d) = program.runs_for.as_mut() {
                    *d += Duration::from_secs_f64(secs.max(0.0));
                }
            }
            "exit" => {
                program.exit_code = arg.trim().parse().unwrap_or(0);
                return program;
            }
            "true" => program.exit_code = 0,
            "false" => {
                program.exit_code = 1;
                return program;
            }
            "echo" => program.output.push(unquote(arg)),
            "trap" => {}
            // An unknown long-running program (a server).
            _ => {
                program.runs_for = None;
                return program;
            }
        }
    }
    program
}

/// Whether a probe running `words` succeeds.
pub fn probe_passes(words: &[String]) -> bool {
    let p = parse(words);
    p.runs_for.is_some() && p.exit_code == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn reads_the_shell_subset() {
        let p = parse(&words(&["sh", "-c", "echo hi; sleep 2; exit 7"]));
        assert_eq!(p.runs_for, Some(Duration::from_secs(2)));
        assert_eq!(p.exit_code, 7);
        assert_eq!(p.output, ["hi"]);
        let p = parse(&words(&["sleep", "300"]));
        assert_eq!(p.runs_for, Some(Duration::from_secs(300)));
        assert!(!p.handles_term);
        assert_eq!(parse(&words(&[])).runs_for, None, "the image's own command");
        assert_eq!(
            parse(&words(&["nginx", "-g", "daemon off;"])).runs_for,
            None
        );
        assert_eq!(parse(&words(&["sh", "-c", "false"])).exit_code, 1);
        assert!(parse(&words(&["sh", "-c", "trap 'exit 0' TERM; sleep 100"])).handles_term);
    }

    #[test]
    fn probes() {
        assert!(probe_passes(&words(&["/bin/sh", "-c", "true"])));
        assert!(!probe_passes(&words(&["/bin/sh", "-c", "exit 1"])));
    }
}
