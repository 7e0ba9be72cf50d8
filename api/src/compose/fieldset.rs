//! The field sets of `@key(fields: "...")`: plain field names, nested with braces
//! (`"id"`, `"sku org { id }"`). Arguments, aliases and fragments are not allowed in keys.

use apollo_compiler::Name;

/// A parsed field set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSet {
    /// Its fields, in order.
    pub fields: Vec<KeyField>,
}

/// One field of a field set, with its own selection when it is an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyField {
    /// The field name.
    pub name: Name,
    /// The sub-selection (empty for a leaf).
    pub selection: FieldSet,
}

impl FieldSet {
    /// Parses `"a b { c }"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        let mut pos = 0;
        let set = parse_set(&tokens, &mut pos)?;
        if pos != tokens.len() {
            return Err("unbalanced `}`".into());
        }
        if set.fields.is_empty() {
            return Err("an empty field set".into());
        }
        Ok(set)
    }

    /// The field set in GraphQL selection syntax (`id org { id }`).
    pub fn to_selection(&self) -> String {
        let mut out = String::new();
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&f.name);
            if !f.selection.fields.is_empty() {
                out.push_str(" { ");
                out.push_str(&f.selection.to_selection());
                out.push_str(" }");
            }
        }
        out
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Name(String),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            '{' => {
                tokens.push(Token::Open);
                chars.next();
            }
            '}' => {
                tokens.push(Token::Close);
                chars.next();
            }
            c if c.is_whitespace() || c == ',' => {
                chars.next();
            }
            c if c == '_' || c.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '_' || c.is_ascii_alphanumeric() {
                        name.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Name(name));
            }
            other => {
                return Err(format!(
                    "unexpected {other:?} (keys take plain field names)"
                ));
            }
        }
    }
    Ok(tokens)
}

fn parse_set(tokens: &[Token], pos: &mut usize) -> Result<FieldSet, String> {
    let mut fields = Vec::new();
    while let Some(token) = tokens.get(*pos) {
        match token {
            Token::Name(n) => {
                *pos += 1;
                let name = Name::new(n).map_err(|e| e.to_string())?;
                let selection = if tokens.get(*pos) == Some(&Token::Open) {
                    *pos += 1;
                    let inner = parse_set(tokens, pos)?;
                    if tokens.get(*pos) != Some(&Token::Close) {
                        return Err("missing `}`".into());
                    }
                    *pos += 1;
                    if inner.fields.is_empty() {
                        return Err(format!("an empty selection under {n}"));
                    }
                    inner
                } else {
                    FieldSet::default()
                };
                fields.push(KeyField { name, selection });
            }
            Token::Close => break,
            Token::Open => return Err("`{` without a field before it".into()),
        }
    }
    Ok(FieldSet { fields })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn plain_and_nested_keys_parse() {
        let set = FieldSet::parse("id").unwrap();
        assert_eq!(set.to_selection(), "id");
        let set = FieldSet::parse("sku  org { id region { code } }").unwrap();
        assert_eq!(set.to_selection(), "sku org { id region { code } }");
        assert_eq!(set.fields[1].selection.fields[1].name, "region");
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "", "{ id }", "org {", "org { }", "id }", "id(x: 1)", "a: id",
        ] {
            assert!(FieldSet::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
