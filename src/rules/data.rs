//! Data lists the rules refer to (`in:` and `matches_list:`): CSV files with a header row, `#`
//! comment lines, and a source for every fact. Built-in lists live in `rules/data/`.

use std::collections::HashMap;

/// One data list.
#[derive(Debug, Clone)]
pub struct DataList {
    /// File stem, the name rules use.
    pub name: String,
    /// Column names, from the header row.
    pub columns: Vec<String>,
    /// The rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

impl DataList {
    /// Parses CSV text; `origin` names the file in errors.
    pub fn parse(name: &str, origin: &str, text: &str) -> Result<DataList, String> {
        let body: String =
            text.lines().filter(|l| !l.trim_start().starts_with('#')).map(|l| format!("{l}\n")).collect();
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(body.as_bytes());
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| format!("{origin}: bad header row: {e}"))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if columns.is_empty() || columns[0].is_empty() {
            return Err(format!("{origin}: the first (non-comment) line must name the columns"));
        }
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| format!("{origin}: data row {}: {e}", i + 1))?;
            let mut row: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
            row.resize(columns.len(), String::new());
            rows.push(row);
        }
        Ok(DataList { name: name.to_string(), columns, rows })
    }

    /// Index of a column, by name; `None` means the first column.
    pub fn column(&self, name: Option<&str>) -> Result<usize, String> {
        match name {
            None => Ok(0),
            Some(n) => self.columns.iter().position(|c| c == n).ok_or_else(|| {
                format!("data list `{}` has no column `{n}` (columns: {})", self.name, self.columns.join(", "))
            }),
        }
    }

    /// Map from a column's values to the rows holding them.
    pub fn index(&self, column: usize, ignore_case: bool) -> HashMap<String, Vec<usize>> {
        let mut map: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, row) in self.rows.iter().enumerate() {
            let key = if ignore_case { row[column].to_ascii_lowercase() } else { row[column].clone() };
            if !key.is_empty() {
                map.entry(key).or_default().push(i);
            }
        }
        map
    }

    /// A cell by row and column name, or `""`.
    pub fn cell(&self, row: usize, column: &str) -> &str {
        match self.columns.iter().position(|c| c == column) {
            Some(c) => self.rows.get(row).map_or("", |r| r[c].as_str()),
            None => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DataList;

    #[test]
    fn parses_comments_quotes_and_short_rows() {
        let text =
            "# a comment\n# another\nname,removed_in,note\n--network-plugin,1.24,\"dockershim, kubenet\"\n--x,1.27\n";
        let list = DataList::parse("flags", "flags.csv", text).unwrap();
        assert_eq!(list.columns, ["name", "removed_in", "note"]);
        assert_eq!(list.rows.len(), 2);
        assert_eq!(list.cell(0, "note"), "dockershim, kubenet");
        assert_eq!(list.cell(1, "note"), "");
        assert_eq!(list.index(0, false)["--x"], vec![1]);
        assert!(list.column(Some("nope")).unwrap_err().contains("no column `nope`"));
    }
}
