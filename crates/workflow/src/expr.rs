//! The condition language of sequence flows: small, safe (no calls, no
//! assignment, no loops) and readable by both BPMN camps. It accepts the
//! Python spelling SpiffWorkflow evaluates (`and`, `or`, `not`, `True`,
//! `None`, `in`) and the C/JUEL spelling of Camunda models (`&&`, `||`, `!`,
//! `true`, `null`, an optional `${…}` wrapper), over the case data as JSON.
//!
//! ```text
//! expr    := or
//! or      := and (("or" | "||") and)*
//! and     := not (("and" | "&&") not)*
//! not     := ("not" | "!") not | cmp
//! cmp     := sum (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/" | "%") unary)*
//! unary   := "-" unary | atom
//! atom    := number | string | true | false | null | path | "(" expr ")" | "[" (expr ("," expr)*)? "]"
//! path    := name ("." name | "[" expr "]")*
//! ```

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Value),
    Path(Vec<PathPart>),
    List(Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    Name(String),
    Index(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// A syntax error, at a character offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {position}: {message}")]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

/// An evaluation failure (a missing variable, a type mismatch).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Name(String),
    Sym(&'static str),
}

const SYMBOLS: &[&str] = &["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".", "+", "-", "*", "/", "%"];

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |position: usize, message: String| ParseError { position, message };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text.parse::<f64>().map_err(|_| err(start, format!("bad number {text:?}")))?;
            out.push((start, Tok::Num(n)));
        } else if c == '\'' || c == '"' {
            let start = i;
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(err(start, "unterminated string".into())),
                    Some('\\') => {
                        s.push(*chars.get(i + 1).ok_or_else(|| err(i, "unterminated string".into()))?);
                        i += 2;
                    }
                    Some(q) if *q == c => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        s.push(*other);
                        i += 1;
                    }
                }
            }
            out.push((start, Tok::Str(s)));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((start, Tok::Name(chars[start..i].iter().collect())));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) else {
                return Err(err(i, format!("unexpected character {c:?}")));
            };
            out.push((i, Tok::Sym(sym)));
            i += sym.chars().count();
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }
    fn position(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(p, _)| *p)
    }
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { position: self.position(), message: message.into() })
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == w) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat_word("or") || self.eat_sym("||") {
            left = Expr::Bin(Op::Or, Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not()?;
        while self.eat_word("and") || self.eat_sym("&&") {
            left = Expr::Bin(Op::And, Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }
    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_word("not") || self.eat_sym("!") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        let op = if self.eat_sym("==") {
            Op::Eq
        } else if self.eat_sym("!=") {
            Op::Ne
        } else if self.eat_sym("<=") {
            Op::Le
        } else if self.eat_sym(">=") {
            Op::Ge
        } else if self.eat_sym("<") {
            Op::Lt
        } else if self.eat_sym(">") {
            Op::Gt
        } else if self.eat_word("in") {
            Op::In
        } else if matches!(self.peek(), Some(Tok::Name(n)) if n == "not")
            && matches!(self.toks.get(self.at + 1), Some((_, Tok::Name(n))) if n == "in")
        {
            self.at += 2;
            Op::NotIn
        } else {
            return Ok(left);
        };
        Ok(Expr::Bin(op, Box::new(left), Box::new(self.sum()?)))
    }
    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat_sym("+") {
                Op::Add
            } else if self.eat_sym("-") {
                Op::Sub
            } else {
                return Ok(left);
            };
            left = Expr::Bin(op, Box::new(left), Box::new(self.product()?));
        }
    }
    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                Op::Mul
            } else if self.eat_sym("/") {
                Op::Div
            } else if self.eat_sym("%") {
                Op::Rem
            } else {
                return Ok(left);
            };
            left = Expr::Bin(op, Box::new(left), Box::new(self.unary()?));
        }
    }
    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_sym("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<Expr, ParseError> {
        let Some(tok) = self.peek().cloned() else { return self.err("expression ends too early") };
        self.at += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Lit(number(n))),
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Sym("(") => {
                let e = self.or()?;
                if !self.eat_sym(")") {
                    return self.err("expected )");
                }
                Ok(e)
            }
            Tok::Sym("[") => {
                let mut items = Vec::new();
                if !self.eat_sym("]") {
                    loop {
                        items.push(self.or()?);
                        if self.eat_sym("]") {
                            break;
                        }
                        if !self.eat_sym(",") {
                            return self.err("expected , or ]");
                        }
                    }
                }
                Ok(Expr::List(items))
            }
            Tok::Name(n) => match n.as_str() {
                "true" | "True" => Ok(Expr::Lit(Value::Bool(true))),
                "false" | "False" => Ok(Expr::Lit(Value::Bool(false))),
                "null" | "None" => Ok(Expr::Lit(Value::Null)),
                "and" | "or" | "not" | "in" => {
                    self.at -= 1;
                    self.err(format!("unexpected {n:?}"))
                }
                _ => {
                    let mut path = vec![PathPart::Name(n)];
                    loop {
                        if self.eat_sym(".") {
                            match self.peek().cloned() {
                                Some(Tok::Name(m)) => {
                                    self.at += 1;
                                    path.push(PathPart::Name(m));
                                }
                                _ => return self.err("expected a name after ."),
                            }
                        } else if self.eat_sym("[") {
                            let index = self.or()?;
                            if !self.eat_sym("]") {
                                return self.err("expected ]");
                            }
                            path.push(PathPart::Index(Box::new(index)));
                        } else {
                            return Ok(Expr::Path(path));
                        }
                    }
                }
            },
            Tok::Sym(s) => {
                self.at -= 1;
                self.err(format!("unexpected {s:?}"))
            }
        }
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// The most tokens a condition may have. Every level of nesting the parser
/// descends consumes a token, and every binary operator adds one level to the
/// tree, so this also bounds the depth of parsing, evaluation and dropping:
/// a condition from a model can never exhaust the stack.
pub const MAX_TOKENS: usize = 500;

/// Parse a condition. A `${…}` wrapper (JUEL, as Camunda models write it) is
/// accepted and removed.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > 8 * MAX_TOKENS {
        return Err(ParseError { position: 0, message: format!("condition longer than {} bytes", 8 * MAX_TOKENS) });
    }
    let trimmed = src.trim();
    let inner = trimmed.strip_prefix("${").and_then(|s| s.strip_suffix('}')).unwrap_or(trimmed);
    let offset = src.find(inner).unwrap_or(0);
    let toks = lex(inner).map_err(|e| ParseError { position: e.position + offset, ..e })?;
    if toks.is_empty() {
        return Err(ParseError { position: 0, message: "empty condition".into() });
    }
    if toks.len() > MAX_TOKENS {
        return Err(ParseError { position: 0, message: format!("condition has more than {MAX_TOKENS} tokens") });
    }
    let mut p = Parser { end: inner.chars().count(), toks, at: 0 };
    let e = p.or().map_err(|e| ParseError { position: e.position + offset, ..e })?;
    if p.at < p.toks.len() {
        return Err(ParseError { position: p.position() + offset, message: "unexpected text after the expression".into() });
    }
    Ok(e)
}

/// Python's truthiness, which SpiffWorkflow applies to conditions.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn equal(a: &Value, b: &Value) -> bool {
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl Expr {
    pub fn eval(&self, data: &Value) -> Result<Value, EvalError> {
        Ok(match self {
            Expr::Lit(v) => v.clone(),
            Expr::List(items) => Value::Array(items.iter().map(|e| e.eval(data)).collect::<Result<_, _>>()?),
            Expr::Path(parts) => {
                let mut cur = data;
                let mut shown = String::new();
                for part in parts {
                    let next = match part {
                        PathPart::Name(n) => {
                            shown.push_str(if shown.is_empty() { "" } else { "." });
                            shown.push_str(n);
                            cur.get(n)
                        }
                        PathPart::Index(e) => {
                            let key = e.eval(data)?;
                            shown.push_str(&format!("[{key}]"));
                            match &key {
                                Value::String(k) => cur.get(k),
                                other => other.as_u64().and_then(|i| usize::try_from(i).ok()).and_then(|i| cur.get(i)),
                            }
                        }
                    };
                    cur = next.ok_or_else(|| EvalError(format!("{shown} is not defined")))?;
                }
                cur.clone()
            }
            Expr::Not(e) => Value::Bool(!truthy(&e.eval(data)?)),
            Expr::Neg(e) => {
                let v = e.eval(data)?;
                number(-num(&v).ok_or_else(|| EvalError(format!("cannot negate {v}")))?)
            }
            Expr::Bin(Op::And, a, b) => Value::Bool(truthy(&a.eval(data)?) && truthy(&b.eval(data)?)),
            Expr::Bin(Op::Or, a, b) => Value::Bool(truthy(&a.eval(data)?) || truthy(&b.eval(data)?)),
            Expr::Bin(op, a, b) => {
                let (x, y) = (a.eval(data)?, b.eval(data)?);
                binary(*op, &x, &y)?
            }
        })
    }

    /// Evaluate as a flow condition.
    pub fn test(&self, data: &Value) -> Result<bool, EvalError> {
        Ok(truthy(&self.eval(data)?))
    }
}

fn binary(op: Op, x: &Value, y: &Value) -> Result<Value, EvalError> {
    let mismatch = || EvalError(format!("cannot apply {op:?} to {x} and {y}"));
    Ok(match op {
        Op::Eq => Value::Bool(equal(x, y)),
        Op::Ne => Value::Bool(!equal(x, y)),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ord = match (num(x), num(y), x, y) {
                (Some(a), Some(b), _, _) => a.partial_cmp(&b),
                (_, _, Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            }
            .ok_or_else(mismatch)?;
            Value::Bool(match op {
                Op::Lt => ord.is_lt(),
                Op::Le => ord.is_le(),
                Op::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        Op::In | Op::NotIn => {
            let found = match y {
                Value::Array(items) => items.iter().any(|i| equal(i, x)),
                Value::String(s) => x.as_str().map(|n| s.contains(n)).ok_or_else(mismatch)?,
                Value::Object(o) => x.as_str().map(|k| o.contains_key(k)).ok_or_else(mismatch)?,
                _ => return Err(mismatch()),
            };
            Value::Bool(found == (op == Op::In))
        }
        Op::Add => match (x, y) {
            (Value::String(a), Value::String(b)) => Value::String(format!("{a}{b}")),
            _ => number(num(x).ok_or_else(mismatch)? + num(y).ok_or_else(mismatch)?),
        },
        Op::Sub | Op::Mul | Op::Div | Op::Rem => {
            let (a, b) = (num(x).ok_or_else(mismatch)?, num(y).ok_or_else(mismatch)?);
            if matches!(op, Op::Div | Op::Rem) && b == 0.0 {
                return Err(EvalError("division by zero".into()));
            }
            number(match op {
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div => a / b,
                _ => a % b,
            })
        }
        Op::And | Op::Or => return Err(mismatch()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    /// Issue 19: deep nesting and long chains are refused, never a stack overflow.
    #[test]
    fn nesting_is_bounded() {
        for deep in ["(".repeat(100_000) + "1" + &")".repeat(100_000), "not ".repeat(50_000) + "x", "-".repeat(100_000) + "1"] {
            assert!(parse(&deep).is_err());
        }
        let chain = vec!["a"; 10_000].join(" + ");
        assert!(parse(&chain).is_err());
        let ok = vec!["a"; 200].join(" + ");
        assert!(parse(&ok).is_ok());
        let nested = "(".repeat(200) + "1" + &")".repeat(200);
        assert_eq!(parse(&nested).unwrap().eval(&json!({})).unwrap(), json!(1));
    }

    fn t(src: &str, data: &Value) -> bool {
        parse(src).unwrap_or_else(|e| panic!("{src}: {e}")).test(data).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[test]
    fn both_spellings() {
        let d = json!({ "approved": true, "score": 72, "kind": "餐饮", "applicant": { "age": 30, "tags": ["a", "b"] }, "n": 0 });
        for src in [
            "approved == True and score >= 60",
            "${approved && score >= 60}",
            "approved == true && !(score < 60)",
            "not n",
            "kind == '餐饮'",
            "kind in ['餐饮', '零售']",
            "'c' not in applicant.tags",
            "applicant['age'] + 5 > 34",
            "applicant.tags[1] == \"b\"",
            "score % 2 == 0 or score / 0.5 == 144",
            "-score < 0",
            "None == null",
        ] {
            assert!(t(src, &d), "{src}");
        }
        for src in ["approved and score < 60", "kind != '餐饮'", "n", "applicant.age > 30 || False"] {
            assert!(!t(src, &d), "{src}");
        }
    }

    #[test]
    fn precedence() {
        let d = json!({});
        assert!(t("1 + 2 * 3 == 7", &d));
        assert!(t("not 1 == 2", &d));
        assert!(t("true or false and false", &d));
        assert!(t("(1 + 2) * 3 == 9", &d));
    }

    #[test]
    fn errors() {
        for (src, pos) in [("a ==", 4), ("a == = b", 5), ("(a", 2), ("a b", 2), ("a.", 2), ("'x", 0), ("a # b", 2), ("", 0), ("${ }", 0)] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.position, pos, "{src}: {e}");
        }
        let d = json!({ "s": "x" });
        assert!(parse("missing > 1").unwrap().test(&d).unwrap_err().0.contains("missing is not defined"));
        assert!(parse("s > 1").unwrap().test(&d).is_err());
        assert!(parse("1 / 0").unwrap().test(&d).is_err());
    }
}
