//! A small interpreter of the Go-template subset the generated Helm chart uses, for machines without `helm`.
//!
//! Supported: text with `{{- ... -}}` trim markers, comments, `define`/`include`, `if`/`else if`/`else`,
//! `with`/`else`, pipelines with parenthesised sub-pipelines, `.Field.Path` on the current value, and the
//! functions `default`, `trunc`, `trimSuffix`, `replace`, `printf` (`%s`, `%d`), `quote`, `contains`,
//! `toYaml`, `nindent`, `indent`, `int`, `gt`, `not`, `and`, `or`, `eq`, `fail`. Anything else (`range`,
//! variables, other functions) is an error, so a template that leaves the subset fails the test
//! instead of rendering wrongly.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The built-in objects of a release.
pub struct Release<'a> {
    /// `.Release.Name`.
    pub name: &'a str,
    /// `.Release.Namespace`.
    pub namespace: &'a str,
}

#[derive(Debug, Clone)]
enum Token {
    Text(String),
    Action(String),
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Output(String),
    If(Vec<(String, Vec<Node>)>, Vec<Node>),
    With(String, Vec<Node>, Vec<Node>),
}

/// Splits a template into text and actions, applying the trim markers and dropping comments.
fn lex(src: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        let mut after = &rest[start + 2..];
        if trim_next {
            text = text.trim_start();
        }
        if let Some(a) = after.strip_prefix("- ") {
            after = a;
            text = text.trim_end();
        }
        tokens.push(Token::Text(text.to_owned()));
        if let Some(comment) = after.trim_start().strip_prefix("/*") {
            let end = comment.find("*/").ok_or("unterminated comment")?;
            let tail = &comment[end + 2..];
            (trim_next, rest) = if let Some(t) = tail.strip_prefix(" -}}") {
                (true, t)
            } else {
                (
                    false,
                    tail.strip_prefix("}}").ok_or("comment not closed by */}}")?,
                )
            };
            continue;
        }
        let end = after.find("}}").ok_or("unterminated action")?;
        let body = &after[..end];
        trim_next = body.ends_with(" -");
        let body = body.strip_suffix(" -").unwrap_or(body);
        tokens.push(Token::Action(body.trim().to_owned()));
        rest = &after[end + 2..];
    }
    tokens.push(Token::Text(
        if trim_next { rest.trim_start() } else { rest }.to_owned(),
    ));
    Ok(tokens)
}

/// Parses tokens into nodes up to an `end`/`else` (returned as the terminator).
fn parse(
    tokens: &[Token],
    pos: &mut usize,
    defines: &mut BTreeMap<String, Vec<Node>>,
) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while *pos < tokens.len() {
        let token = tokens[*pos].clone();
        *pos += 1;
        match token {
            Token::Text(t) => nodes.push(Node::Text(t)),
            Token::Action(a) => {
                let word = a.split_whitespace().next().unwrap_or("");
                match word {
                    "end" | "else" => return Ok((nodes, Some(a))),
                    "if" => {
                        let mut branches = Vec::new();
                        let mut cond = a["if".len()..].trim().to_owned();
                        loop {
                            let (body, term) = parse(tokens, pos, defines)?;
                            branches.push((cond.clone(), body));
                            match term.as_deref() {
                                Some("end") => {
                                    nodes.push(Node::If(branches, Vec::new()));
                                    break;
                                }
                                Some("else") => {
                                    let (body, term) = parse(tokens, pos, defines)?;
                                    if term.as_deref() != Some("end") {
                                        return Err("if/else without end".to_owned());
                                    }
                                    nodes.push(Node::If(branches, body));
                                    break;
                                }
                                Some(t) if t.starts_with("else if ") => {
                                    cond = t["else if ".len()..].trim().to_owned();
                                }
                                _ => return Err(format!("unterminated if {cond}")),
                            }
                        }
                    }
                    "with" => {
                        let arg = a["with".len()..].trim().to_owned();
                        let (body, term) = parse(tokens, pos, defines)?;
                        let otherwise = match term.as_deref() {
                            Some("end") => Vec::new(),
                            Some("else") => {
                                let (body, term) = parse(tokens, pos, defines)?;
                                if term.as_deref() != Some("end") {
                                    return Err("with/else without end".to_owned());
                                }
                                body
                            }
                            _ => return Err(format!("unterminated with {arg}")),
                        };
                        nodes.push(Node::With(arg, body, otherwise));
                    }
                    "define" => {
                        let name = unquote(a["define".len()..].trim())?;
                        let (body, term) = parse(tokens, pos, defines)?;
                        if term.as_deref() != Some("end") {
                            return Err(format!("define {name} without end"));
                        }
                        defines.insert(name, body);
                    }
                    "range" | "template" | "block" => {
                        return Err(format!("unsupported action {{{{ {a} }}}}"));
                    }
                    _ if a.starts_with('$') => return Err(format!("unsupported variable in {a}")),
                    _ => nodes.push(Node::Output(a)),
                }
            }
        }
    }
    Ok((nodes, None))
}

fn unquote(s: &str) -> Result<String, String> {
    serde_json::from_str::<String>(s).map_err(|e| format!("bad string {s}: {e}"))
}

/// Go template truth.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn print(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("cannot print {other} (use toYaml)")),
    })
}

/// Splits at top-level occurrences of `sep` (outside strings and parentheses).
fn split_top(s: &str, sep: impl Fn(char) -> bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for c in s.chars() {
        if in_string {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                current.push(c);
            }
            '(' => {
                depth += 1;
                current.push(c);
            }
            ')' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            c if depth == 0 && sep(c) => {
                if !current.trim().is_empty() {
                    parts.push(current.trim().to_owned());
                }
                current.clear();
            }
            c => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

struct Renderer<'a> {
    defines: &'a BTreeMap<String, Vec<Node>>,
}

impl Renderer<'_> {
    fn nodes(&self, nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), String> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Output(p) => out.push_str(&print(&self.pipeline(p, dot)?)?),
                Node::If(branches, otherwise) => {
                    let mut done = false;
                    for (cond, body) in branches {
                        if truthy(&self.pipeline(cond, dot)?) {
                            self.nodes(body, dot, out)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.nodes(otherwise, dot, out)?;
                    }
                }
                Node::With(arg, body, otherwise) => {
                    let v = self.pipeline(arg, dot)?;
                    if truthy(&v) {
                        self.nodes(body, &v, out)?;
                    } else {
                        self.nodes(otherwise, dot, out)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn pipeline(&self, p: &str, dot: &Value) -> Result<Value, String> {
        let mut value: Option<Value> = None;
        for command in split_top(p, |c| c == '|') {
            value = Some(self.command(&command, dot, value)?);
        }
        value.ok_or_else(|| format!("empty pipeline {p:?}"))
    }

    fn command(&self, c: &str, dot: &Value, piped: Option<Value>) -> Result<Value, String> {
        let words = split_top(c, char::is_whitespace);
        let Some(first) = words.first() else {
            return Err("empty command".to_owned());
        };
        let is_function = first.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic())
            && !matches!(first.as_str(), "true" | "false" | "nil");
        if !is_function {
            if words.len() > 1 || piped.is_some() {
                return Err(format!("{c:?}: a value takes no arguments"));
            }
            return self.arg(first, dot);
        }
        let mut args = words[1..]
            .iter()
            .map(|w| self.arg(w, dot))
            .collect::<Result<Vec<_>, _>>()?;
        args.extend(piped);
        self.call(first, &args, c)
    }

    fn arg(&self, w: &str, dot: &Value) -> Result<Value, String> {
        if let Some(inner) = w.strip_prefix('(').and_then(|w| w.strip_suffix(')')) {
            return self.pipeline(inner, dot);
        }
        if w.starts_with('"') {
            return unquote(w).map(Value::String);
        }
        if w == "." {
            return Ok(dot.clone());
        }
        if let Some(path) = w.strip_prefix('.') {
            let mut v = dot;
            for key in path.split('.') {
                v = match v {
                    Value::Object(map) => map.get(key).unwrap_or(&Value::Null),
                    Value::Null => &Value::Null,
                    other => return Err(format!("{w}: .{key} of {other}")),
                };
            }
            return Ok(v.clone());
        }
        match w {
            "true" => return Ok(json!(true)),
            "false" => return Ok(json!(false)),
            "nil" => return Ok(Value::Null),
            _ => {}
        }
        if let Ok(n) = w.parse::<i64>() {
            return Ok(json!(n));
        }
        Err(format!("unsupported argument {w:?}"))
    }

    fn call(&self, f: &str, args: &[Value], c: &str) -> Result<Value, String> {
        let s = |i: usize| -> Result<String, String> {
            args.get(i)
                .ok_or_else(|| format!("{c:?}: missing argument {i}"))
                .and_then(print)
        };
        let n = |i: usize| -> Result<i64, String> {
            match args.get(i) {
                Some(Value::Number(n)) => n.as_i64().ok_or_else(|| format!("{c:?}: {n} is no integer")),
                Some(Value::String(t)) => t.parse().map_err(|_| format!("{c:?}: {t:?} is no integer")),
                Some(Value::Null) => Ok(0),
                other => Err(format!("{c:?}: {other:?} is no integer")),
            }
        };
        let arity = |k: usize| -> Result<(), String> {
            if args.len() == k {
                Ok(())
            } else {
                Err(format!("{c:?}: {f} takes {k} arguments, got {}", args.len()))
            }
        };
        Ok(match f {
            "default" => {
                arity(2)?;
                if truthy(&args[1]) {
                    args[1].clone()
                } else {
                    args[0].clone()
                }
            }
            "trunc" => {
                arity(2)?;
                json!(
                    s(1)?
                        .chars()
                        .take(usize::try_from(n(0)?).unwrap_or(0))
                        .collect::<String>()
                )
            }
            "trimSuffix" => {
                arity(2)?;
                let (suffix, text) = (s(0)?, s(1)?);
                json!(text.strip_suffix(suffix.as_str()).unwrap_or(&text))
            }
            "replace" => {
                arity(3)?;
                json!(s(2)?.replace(&s(0)?, &s(1)?))
            }
            "printf" => {
                let format = s(0)?;
                let mut out = String::new();
                let mut rest = format.as_str();
                let mut i = 1;
                while let Some(at) = rest.find('%') {
                    out.push_str(&rest[..at]);
                    match rest.get(at + 1..at + 2) {
                        Some("s" | "d") => out.push_str(&s(i)?),
                        other => return Err(format!("{c:?}: unsupported verb %{other:?}")),
                    }
                    i += 1;
                    rest = &rest[at + 2..];
                }
                out.push_str(rest);
                if i != args.len() {
                    return Err(format!("{c:?}: printf argument count"));
                }
                json!(out)
            }
            "quote" => {
                arity(1)?;
                json!(Value::String(s(0)?).to_string())
            }
            "contains" => {
                arity(2)?;
                json!(s(1)?.contains(&s(0)?))
            }
            "include" => {
                arity(2)?;
                let name = s(0)?;
                let body = self
                    .defines
                    .get(&name)
                    .ok_or_else(|| format!("include of undefined template {name:?}"))?;
                let mut out = String::new();
                self.nodes(body, &args[1], &mut out)?;
                json!(out)
            }
            "toYaml" => {
                arity(1)?;
                let yaml = serde_saphyr::to_string(&args[0]).map_err(|e| e.to_string())?;
                json!(yaml.trim_end_matches('\n'))
            }
            "nindent" | "indent" => {
                arity(2)?;
                let pad = " ".repeat(usize::try_from(n(0)?).unwrap_or(0));
                let text = s(1)?
                    .lines()
                    .map(|l| format!("{pad}{l}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                json!(if f == "nindent" { format!("\n{text}") } else { text })
            }
            "int" => {
                arity(1)?;
                json!(n(0)?)
            }
            "gt" => {
                arity(2)?;
                json!(n(0)? > n(1)?)
            }
            "eq" => {
                arity(2)?;
                json!(args[0] == args[1])
            }
            "not" => {
                arity(1)?;
                json!(!truthy(&args[0]))
            }
            "and" => args
                .iter()
                .find(|a| !truthy(a))
                .or(args.last())
                .cloned()
                .unwrap_or(Value::Null),
            "or" => args
                .iter()
                .find(|a| truthy(a))
                .or(args.last())
                .cloned()
                .unwrap_or(Value::Null),
            "fail" => return Err(format!("fail: {}", s(0)?)),
            other => return Err(format!("{c:?}: unsupported function {other}")),
        })
    }
}

/// Renders every template of a chart directory (`templates/*`, partials `_*` only as defines) with
/// `values`; returns the output of each non-partial file by file name.
pub fn render_chart(
    chart_dir: &std::path::Path,
    values: &Value,
    release: &Release<'_>,
) -> Result<BTreeMap<String, String>, String> {
    let chart: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(chart_dir.join("Chart.yaml")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("Chart.yaml: {e}"))?;
    let root = json!({
        "Values": values,
        "Release": { "Name": release.name, "Namespace": release.namespace, "Service": "Helm" },
        "Chart": { "Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"] },
    });
    let mut files: Vec<(String, String)> = std::fs::read_dir(chart_dir.join("templates"))
        .map_err(|e| e.to_string())?
        .map(|e| {
            let e = e.map_err(|e| e.to_string())?;
            let text = std::fs::read_to_string(e.path()).map_err(|e| e.to_string())?;
            Ok((e.file_name().to_string_lossy().into_owned(), text))
        })
        .collect::<Result<_, String>>()?;
    files.sort();
    let mut defines = BTreeMap::new();
    let mut bodies = Vec::new();
    for (name, text) in &files {
        let tokens = lex(text).map_err(|e| format!("{name}: {e}"))?;
        let mut pos = 0;
        let (nodes, term) = parse(&tokens, &mut pos, &mut defines).map_err(|e| format!("{name}: {e}"))?;
        if let Some(t) = term {
            return Err(format!("{name}: unexpected {{{{ {t} }}}}"));
        }
        if !name.starts_with('_') {
            bodies.push((name.clone(), nodes));
        }
    }
    let renderer = Renderer { defines: &defines };
    let mut out = BTreeMap::new();
    for (name, nodes) in bodies {
        let mut text = String::new();
        renderer
            .nodes(&nodes, &root, &mut text)
            .map_err(|e| format!("{name}: {e}"))?;
        out.insert(name, text);
    }
    Ok(out)
}

#[test]
fn the_interpreter_follows_go_template_rules() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "name: c\nversion: 1.0.0\nappVersion: \"2\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("templates/_h.tpl"),
        "{{/* doc */}}\n{{- define \"c.n\" -}}\n{{ printf \"%s-%s\" .Release.Name .Chart.Name | trunc 5 | trimSuffix \"-\" }}\n{{- end }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("templates/t.yaml"),
        "a: {{ include \"c.n\" . }}\n{{- if .Values.off }}\nb: no\n{{- else if .Values.on }}\nb: {{ .Values.on | quote }}\n{{- end }}\nc:\n  {{- with .Values.m }}\n  {{- toYaml . | nindent 2 }}\n  {{- end }}\nd: {{ default .Chart.AppVersion .Values.none }}\n",
    )
    .unwrap();
    let out = render_chart(
        dir.path(),
        &json!({"on": "x", "m": {"k": 1}}),
        &Release {
            name: "rel",
            namespace: "ns",
        },
    )
    .unwrap();
    assert_eq!(out["t.yaml"], "a: rel-c\nb: \"x\"\nc:\n  k: 1\nd: 2\n");
    std::fs::write(
        dir.path().join("templates/t.yaml"),
        "{{ range .Values.m }}{{ end }}",
    )
    .unwrap();
    assert!(
        render_chart(
            dir.path(),
            &json!({}),
            &Release {
                name: "r",
                namespace: "n"
            }
        )
        .is_err()
    );
}
