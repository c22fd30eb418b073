//! CSV export (RFC 4180), safe to open in a spreadsheet.

/// One CSV record from its fields, ending in CRLF.
///
/// Fields are quoted when they hold a comma, quote or line break. A field that a spreadsheet would
/// read as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`,
/// as OWASP advises against CSV injection: audit data comes from users and upstream systems.
pub fn csv_record<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let field = field.as_ref();
        let defused;
        let field = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            defused = format!("'{field}");
            defused.as_str()
        } else {
            field
        };
        if field.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(field);
        }
    }
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_are_joined() {
        assert_eq!(csv_record(&["a", "b c", ""]), "a,b c,\r\n");
    }

    #[test]
    fn special_characters_are_quoted() {
        assert_eq!(
            csv_record(&["x,y", "say \"hi\"", "two\nlines"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(
            csv_record(&["=HYPERLINK(\"x\")", "+1", "-2", "@a"]),
            "\"'=HYPERLINK(\"\"x\"\")\",'+1,'-2,'@a\r\n"
        );
    }
}
