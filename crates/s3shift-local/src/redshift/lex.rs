//! A small SQL lexer: enough of Redshift's lexical rules to rewrite statements without ever touching the
//! inside of string literals, quoted identifiers or comments.

/// One token and its text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A keyword or unquoted identifier.
    Word(String),
    /// `"quoted identifier"` (text with the quotes).
    Quoted(String),
    /// `'string literal'` (text with the quotes).
    Str(String),
    /// A number.
    Num(String),
    /// `:name`, a Data API parameter.
    Param(String),
    /// Punctuation or an operator (`::` is one token).
    Punct(String),
    /// Whitespace or a comment, kept so rewritten SQL reads like the original.
    Space(String),
}

impl Tok {
    pub(crate) fn text(&self) -> &str {
        match self {
            Tok::Word(s) | Tok::Quoted(s) | Tok::Str(s) | Tok::Num(s) | Tok::Punct(s) | Tok::Space(s) => s,
            Tok::Param(s) => s,
        }
    }

    /// Whether this is the keyword `kw` (case-insensitive).
    pub(crate) fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    pub(crate) fn is_punct(&self, p: &str) -> bool {
        matches!(self, Tok::Punct(x) if x == p)
    }

    /// The identifier this token names (unquoted words fold to lower case, as Redshift does).
    pub(crate) fn ident(&self) -> Option<String> {
        match self {
            Tok::Word(w) => Some(w.to_ascii_lowercase()),
            Tok::Quoted(q) => Some(q.trim_matches('"').replace("\"\"", "\"")),
            _ => None,
        }
    }

    /// The value of a string literal.
    pub(crate) fn string_value(&self) -> Option<String> {
        match self {
            Tok::Str(s) => s
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .map(|s| s.replace("''", "'")),
            _ => None,
        }
    }
}

/// Why a statement does not split into tokens; shown without Redshift's `ERROR: ` prefix, which the caller adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LexError {
    /// A `/*` comment that never closes.
    Comment,
    /// A string literal (or a quoted identifier) that never closes.
    Unterminated {
        /// Whether it is a quoted identifier.
        identifier: bool,
        /// Its first character's position, from 1.
        at: usize,
    },
}

impl std::fmt::Display for LexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Comment => f.write_str("unterminated /* comment"),
            Self::Unterminated { identifier, at } => {
                let what = if *identifier {
                    "quoted identifier"
                } else {
                    "string literal"
                };
                write!(f, "unterminated {what} starting at character {at}")
            }
        }
    }
}

impl std::error::Error for LexError {}

/// Splits `sql` into tokens; an unterminated literal, identifier or comment is an error naming it.
pub(crate) fn lex(sql: &str) -> Result<Vec<Tok>, LexError> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let take = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            out.push(Tok::Space(take(start, i)));
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            out.push(Tok::Space(take(start, i)));
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            if i + 1 >= chars.len() {
                return Err(LexError::Comment);
            }
            i += 2;
            out.push(Tok::Space(take(start, i)));
        } else if c == '\'' || c == '"' {
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(LexError::Unterminated {
                            identifier: c == '"',
                            at: start + 1,
                        });
                    }
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            let text = take(start, i);
            out.push(if c == '\'' {
                Tok::Str(text)
            } else {
                Tok::Quoted(text)
            });
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            out.push(Tok::Word(take(start, i)));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(take(start, i)));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            i += 2;
            out.push(Tok::Punct("::".into()));
        } else if c == ':' && chars.get(i + 1).is_some_and(|n| n.is_alphabetic() || *n == '_') {
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Param(take(start + 1, i)));
        } else {
            let two = take(start, (i + 2).min(chars.len()));
            if ["<=", ">=", "<>", "!=", "||"].contains(&two.as_str()) {
                i += 2;
                out.push(Tok::Punct(two));
            } else {
                i += 1;
                out.push(Tok::Punct(c.to_string()));
            }
        }
    }
    Ok(out)
}

/// The tokens without whitespace and comments.
pub(crate) fn solid(toks: &[Tok]) -> Vec<&Tok> {
    toks.iter().filter(|t| !matches!(t, Tok::Space(_))).collect()
}

/// Joins tokens back into SQL text.
pub(crate) fn render(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Param(name) => format!("${name}"),
            other => other.text().to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_comments_are_opaque() {
        let t = lex("select ':x', \"a\"\"b\", :p, a::int -- :c\n/* :d */ from t").unwrap();
        let params: Vec<_> = t
            .iter()
            .filter_map(|t| {
                if let Tok::Param(p) = t {
                    Some(p.clone())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(params, ["p"]);
        assert_eq!(
            render(&t),
            "select ':x', \"a\"\"b\", $p, a::int -- :c\n/* :d */ from t"
        );
        assert_eq!(
            t.iter()
                .find_map(|t| if let Tok::Quoted(_) = t { t.ident() } else { None })
                .as_deref(),
            Some("a\"b")
        );
    }

    #[test]
    fn unterminated_things_are_errors() {
        assert_eq!(
            lex("select 'abc").unwrap_err(),
            LexError::Unterminated {
                identifier: false,
                at: 8
            }
        );
        assert_eq!(
            lex("select \"abc").unwrap_err().to_string(),
            "unterminated quoted identifier starting at character 8"
        );
        assert!(lex("select /* x").is_err());
    }
}
