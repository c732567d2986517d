//! Spec descriptions → rustdoc lines: code fences become ```text, bare URLs become <url>, list continuations are indented, no doctests.

/// Splits sanitized text into doc-attribute lines (each with a leading space, as `///` would produce).
pub fn doc_lines(text: &str) -> Vec<String> {
    sanitize(text)
        .lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!(" {l}")
            }
        })
        .collect()
}

/// Makes spec text safe as rustdoc: nothing compiles as a doctest, no rustdoc/clippy doc lints fire.
pub fn sanitize(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut in_fence = false;
    let mut list_indent: Option<usize> = None;
    for raw in text.trim().replace('\t', "    ").replace('\r', "").lines() {
        let trimmed = raw.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            out.push(if in_fence {
                "```".to_owned()
            } else {
                "```text".to_owned()
            });
            in_fence = !in_fence;
            list_indent = None;
            continue;
        }
        if in_fence {
            out.push(raw.trim_end().to_owned());
            continue;
        }
        if trimmed.is_empty() {
            out.push(String::new());
            list_indent = None;
            continue;
        }
        let line = wrap_urls(trimmed);
        if let Some(marker) = list_marker(trimmed) {
            list_indent = Some(marker);
            out.push(line);
        } else if let Some(indent) = list_indent {
            out.push(format!("{}{line}", " ".repeat(indent)));
        } else {
            out.push(line);
        }
    }
    if in_fence {
        out.push("```".to_owned());
    }
    // Collapse runs of blank lines and drop trailing ones.
    let mut collapsed: Vec<String> = Vec::new();
    for line in out {
        if line.is_empty() && collapsed.last().is_none_or(String::is_empty) {
            continue;
        }
        collapsed.push(line);
    }
    while collapsed.last().is_some_and(String::is_empty) {
        collapsed.pop();
    }
    let mut text = collapsed.join("\n");
    // A leading `#` would make schemars read a title, and rustdoc a heading.
    if text.starts_with('#') {
        text.insert(0, '\\');
    }
    text
}

fn list_marker(line: &str) -> Option<usize> {
    if line.starts_with("- ") || line.starts_with("* ") || line.starts_with("+ ") {
        return Some(2);
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") ")) {
        return Some(digits + 2);
    }
    None
}

fn wrap_urls(line: &str) -> String {
    // Most lines have no URL: copy them as they are (no per-word allocations).
    if !line.contains("http") {
        return line.to_owned();
    }
    let mut out = String::with_capacity(line.len() + 8);
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let Some(start) = word.find("http://").or_else(|| word.find("https://")) else {
            out.push_str(word);
            continue;
        };
        let (before, url_part) = word.split_at(start);
        // Already a link, autolink or code.
        if before.ends_with('(') || before.ends_with('<') || before.contains('`') || before.contains('[') {
            out.push_str(word);
            continue;
        }
        let end = url_part
            .trim_end_matches(['.', ',', ';', ':', ')', '!', '?', '"', '\''])
            .len();
        let (url, after) = url_part.split_at(end);
        out.push_str(before);
        out.push('<');
        out.push_str(url);
        out.push('>');
        out.push_str(after);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_fences_become_text_blocks() {
        assert_eq!(sanitize("a\n```\nlet x = 1;\n```"), "a\n```text\nlet x = 1;\n```");
        assert_eq!(sanitize("```json\n{}\n```"), "```text\n{}\n```");
        assert_eq!(sanitize("```\nunterminated"), "```text\nunterminated\n```");
    }

    #[test]
    fn bare_urls_are_wrapped_but_links_are_kept() {
        assert_eq!(sanitize("see https://x.io/a."), "see <https://x.io/a>.");
        assert_eq!(sanitize("[x](https://x.io)"), "[x](https://x.io)");
        assert_eq!(sanitize("<https://x.io>"), "<https://x.io>");
        assert_eq!(sanitize("`https://x.io`"), "`https://x.io`");
    }

    #[test]
    fn indentation_cannot_start_a_doctest_and_lists_continue() {
        assert_eq!(sanitize("a\n\n    indented code"), "a\n\nindented code");
        assert_eq!(
            sanitize("- item\ncontinued\n\nnext"),
            "- item\n  continued\n\nnext"
        );
        assert_eq!(sanitize("10. ten\nmore"), "10. ten\n    more");
    }

    #[test]
    fn leading_hash_is_escaped_and_blank_runs_collapse() {
        assert_eq!(sanitize("# Title\n\n\n\nbody\n\n"), "\\# Title\n\nbody");
        assert_eq!(
            doc_lines("a\n\nb"),
            vec![" a".to_owned(), String::new(), " b".to_owned()]
        );
    }
}
