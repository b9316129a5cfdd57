//! The cluster query language (ListContainerInstances' `filter`, `memberOf` placement
//! constraints): `subject operator [argument]` expressions joined by `and` / `&&`, `or` / `||`,
//! negated by `not` / `!`, grouped with parentheses, as the ECS developer guide defines them.
//!
//! Subjects: `agentConnected`, `agentVersion`, `attribute:<name>`, `ec2InstanceId`,
//! `registeredAt`, `runningTasksCount`, `task:group`. Operators: `==` (`equals`), `!=`
//! (`not_equals`), `>` (`greater_than`), `>=` (`greater_than_equal`), `<` (`less_than`), `<=`
//! (`less_than_equal`), `exists`, `!exists` (`not_exists`), `in`, `!in` (`not_in`), `=~`
//! (`matches`, `*` matching any run of characters), `!~` (`not_matches`). A list argument is
//! `[a, b]`; a quoted argument `'a b'` may hold spaces.

/// How a subject is compared with the argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `exists`
    Exists,
    /// `!exists`
    NotExists,
    /// `in`
    In,
    /// `!in`
    NotIn,
    /// `=~`
    Matches,
    /// `!~`
    NotMatches,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// It does not hold.
    Not(Box<Expr>),
    /// `subject op arguments`.
    Compare {
        /// The subject, as written (`attribute:ecs.os-type`).
        subject: String,
        /// The operator.
        op: Op,
        /// The argument (several for `in` lists; none for `exists`).
        args: Vec<String>,
    },
}

const SUBJECTS: [&str; 6] = [
    "agentConnected",
    "agentVersion",
    "ec2InstanceId",
    "registeredAt",
    "runningTasksCount",
    "task:group",
];

fn op_of(token: &str) -> Option<Op> {
    Some(match token {
        "==" | "equals" => Op::Eq,
        "!=" | "not_equals" => Op::Ne,
        ">" | "greater_than" => Op::Gt,
        ">=" | "greater_than_equal" => Op::Ge,
        "<" | "less_than" => Op::Lt,
        "<=" | "less_than_equal" => Op::Le,
        "exists" => Op::Exists,
        "!exists" | "not_exists" => Op::NotExists,
        "in" => Op::In,
        "!in" | "not_in" => Op::NotIn,
        "=~" | "matches" => Op::Matches,
        "!~" | "not_matches" => Op::NotMatches,
        _ => return None,
    })
}

/// The expression's tokens: words, quoted strings (unquoted), and `( ) [ ] ,`.
fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "()[],".contains(c) {
            out.push(c.to_string());
            chars.next();
        } else if c == '\'' || c == '"' {
            chars.next();
            let mut word = String::new();
            loop {
                match chars.next() {
                    Some(q) if q == c => break,
                    Some(other) => word.push(other),
                    None => return Err(format!("unterminated quote in '{text}'")),
                }
            }
            out.push(word);
        } else {
            let mut word = String::new();
            while let Some(&w) = chars.peek() {
                if w.is_whitespace() || "()[],".contains(w) {
                    break;
                }
                word.push(w);
                chars.next();
            }
            out.push(word);
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<String>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while matches!(self.peek(), Some("or" | "||")) {
            self.next();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while matches!(self.peek(), Some("and" | "&&")) {
            self.next();
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some("not" | "!") => {
                self.next();
                Ok(Expr::Not(Box::new(self.not()?)))
            }
            Some("(") => {
                self.next();
                let inner = self.or()?;
                match self.next().as_deref() {
                    Some(")") => Ok(inner),
                    _ => Err("a parenthesis is not closed".into()),
                }
            }
            _ => self.compare(),
        }
    }

    fn compare(&mut self) -> Result<Expr, String> {
        let subject = self.next().ok_or("an expression is missing its subject")?;
        if !SUBJECTS.contains(&subject.as_str())
            && subject.strip_prefix("attribute:").is_none_or(str::is_empty)
        {
            return Err(format!(
                "'{subject}' is not a subject of the cluster query language"
            ));
        }
        let word = self.next().ok_or(format!("'{subject}' has no operator"))?;
        let op = op_of(&word).ok_or(format!("'{word}' is not an operator"))?;
        let args = match op {
            Op::Exists | Op::NotExists => vec![],
            Op::In | Op::NotIn => self.list()?,
            _ => vec![self.value()?],
        };
        Ok(Expr::Compare { subject, op, args })
    }

    fn value(&mut self) -> Result<String, String> {
        match self.next() {
            Some(v) if !matches!(v.as_str(), "(" | ")" | "[" | "]" | ",") => Ok(v),
            _ => Err("an operator is missing its argument".into()),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, String> {
        let close = match self.next().as_deref() {
            Some("[") => "]",
            Some("(") => ")",
            _ => return Err("'in' takes a list: [a, b]".into()),
        };
        let mut items = vec![];
        loop {
            items.push(self.value()?);
            match self.next().as_deref() {
                Some(",") => continue,
                Some(c) if c == close => return Ok(items),
                _ => return Err("a list is not closed".into()),
            }
        }
    }
}

/// Parses `text`; the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(rest) => Err(format!("unexpected '{rest}'")),
    }
}

/// `*` in `pattern` matches any run of characters.
fn glob(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, tail)) => {
            let Some(rest) = value.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

/// Numbers compare as numbers, dotted versions part by part, anything else as text (ISO dates
/// compare rightly so).
pub fn order(value: &str, arg: &str) -> std::cmp::Ordering {
    if let (Ok(a), Ok(b)) = (value.parse::<f64>(), arg.parse::<f64>()) {
        return a.total_cmp(&b);
    }
    let parts = |s: &str| {
        s.split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()
    };
    if let (Some(a), Some(b)) = (parts(value), parts(arg)) {
        return a.cmp(&b);
    }
    let date = |s: &str| {
        s.trim_end_matches('Z')
            .trim_end_matches("+00:00")
            .to_string()
    };
    date(value).cmp(&date(arg))
}

/// Whether `expr` holds for a target whose subjects have the values `values` gives (none: the
/// target has no such subject, e.g. an attribute it lacks).
pub fn holds<F: Fn(&str) -> Vec<String>>(expr: &Expr, values: &F) -> bool {
    match expr {
        Expr::And(a, b) => holds(a, values) && holds(b, values),
        Expr::Or(a, b) => holds(a, values) || holds(b, values),
        Expr::Not(e) => !holds(e, values),
        Expr::Compare { subject, op, args } => {
            let arg = args.first().map(String::as_str).unwrap_or_default();
            use std::cmp::Ordering::*;
            let hit = |v: &str| match op {
                Op::Eq | Op::Ne => v == arg,
                Op::Gt => order(v, arg) == Greater,
                Op::Ge => order(v, arg) != Less,
                Op::Lt => order(v, arg) == Less,
                Op::Le => order(v, arg) != Greater,
                Op::In | Op::NotIn => args.iter().any(|a| a == v),
                Op::Matches | Op::NotMatches => glob(arg, v),
                Op::Exists | Op::NotExists => true,
            };
            let found = values(subject).iter().any(|v| hit(v));
            match op {
                Op::Ne | Op::NotIn | Op::NotMatches | Op::NotExists => !found,
                _ => found,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instance: t2.micro in us-east-1a, agent 1.89.3, 3 running tasks, registered on
    /// 2026-11-30, one task of group service:web.
    fn instance(subject: &str) -> Vec<String> {
        let v = |s: &str| vec![s.to_string()];
        match subject {
            "attribute:ecs.instance-type" => v("t2.micro"),
            "attribute:ecs.availability-zone" => v("us-east-1a"),
            "attribute:flag" => v(""),
            "agentConnected" => v("true"),
            "agentVersion" => v("1.89.3"),
            "ec2InstanceId" => v("i-0123456789abcdef0"),
            "registeredAt" => v("2026-11-30T10:00:00"),
            "runningTasksCount" => v("3"),
            "task:group" => vec!["service:web".into(), "batch".into()],
            _ => vec![],
        }
    }

    #[test]
    fn expressions_as_the_developer_guide_writes_them() {
        let cases = [
            ("attribute:ecs.instance-type == t2.micro", true),
            ("attribute:ecs.instance-type equals t2.small", false),
            ("attribute:ecs.instance-type =~ t2.*", true),
            ("attribute:ecs.instance-type !~ t2.*", false),
            ("attribute:ecs.instance-type in [t2.small, t2.micro]", true),
            ("attribute:ecs.instance-type !in [t2.small, t2.medium]", true),
            ("attribute:ecs.availability-zone != us-east-1b", true),
            ("attribute:flag exists", true),
            ("attribute:missing exists", false),
            ("attribute:missing !exists", true),
            ("attribute:missing != x", true),
            ("agentConnected == false", false),
            ("agentVersion < 1.90.0", true),
            ("agentVersion >= 1.89.3", true),
            ("agentVersion > 1.100.0", false),
            ("ec2InstanceId in ['i-0123456789abcdef0', 'i-1']", true),
            ("registeredAt > 2026-11-29", true),
            ("registeredAt < 2026-11-30T09:00:00Z", false),
            ("runningTasksCount <= 3", true),
            ("runningTasksCount > 10", false),
            ("task:group == service:web", true),
            ("not(task:group == service:web)", false),
            ("! task:group == nightly", true),
            (
                "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
                true,
            ),
            ("runningTasksCount > 10 || agentConnected == true", true),
            ("runningTasksCount > 10 or agentConnected == true and agentVersion > 2.0.0", false),
            ("(runningTasksCount > 10 or agentConnected == true) && agentVersion > 1.0.0", true),
        ];
        for (text, want) in cases {
            let expr = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(holds(&expr, &instance), want, "{text}");
        }
    }

    #[test]
    fn malformed_expressions_say_what_is_wrong() {
        for (text, says) in [
            ("", "subject"),
            ("colour == red", "not a subject"),
            ("attribute: == x", "not a subject"),
            ("runningTasksCount", "no operator"),
            ("runningTasksCount ~= 1", "not an operator"),
            ("runningTasksCount ==", "argument"),
            ("ec2InstanceId in i-1", "takes a list"),
            ("ec2InstanceId in [i-1, i-2", "not closed"),
            ("(agentConnected == true", "not closed"),
            ("agentConnected == true extra", "unexpected 'extra'"),
            ("ec2InstanceId == 'i-1", "unterminated quote"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn wildcards_match_any_run() {
        assert!(glob("*", ""));
        assert!(glob("t2.*", "t2.micro"));
        assert!(glob("*.micro", "t2.micro"));
        assert!(glob("t*o", "t2.micro"));
        assert!(!glob("t3.*", "t2.micro"));
        assert!(!glob("t2", "t2.micro"));
    }
}
