//! Keypoint rows in CSV: the old project's `dancer_keyp_list.csv` (no header, one frame per line,
//! 36 numbers = OpenPose-18 x,y with 0 for a missing part) and the same shape with other widths.

use std::io::{BufRead, Write};

use crate::error::ScoreError;

/// Values in a row of the old `dancer_keyp_list.csv`: 18 OpenPose parts x (x, y).
pub const OPENPOSE_ROW_VALUES: usize = 36;

/// The largest magnitude a coordinate may have (its square summed 100 times stays finite).
pub const MAX_ABS_VALUE: f64 = 1e150;

/// The smallest magnitude a non-zero coordinate may have (its square stays a normal `f64`, so a
/// row's length is zero only when the row is all zeros).
pub const MIN_ABS_VALUE: f64 = 1e-150;

/// True for 0 and finite values with magnitude in [`MIN_ABS_VALUE`, `MAX_ABS_VALUE`].
pub(crate) fn is_coordinate(v: f64) -> bool {
    v == 0.0 || (MIN_ABS_VALUE..=MAX_ABS_VALUE).contains(&v.abs())
}

/// Size limits applied while reading a table from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TableLimits {
    /// Most data rows accepted (default 2 000 000: about 18 h of video at 30 fps).
    pub max_rows: usize,
    /// Longest line accepted, in bytes (default 64 KiB).
    pub max_line_bytes: usize,
}

impl Default for TableLimits {
    fn default() -> Self {
        Self {
            max_rows: 2_000_000,
            max_line_bytes: 64 * 1024,
        }
    }
}

/// A rectangular table of finite numbers, one keypoint frame per row, stored flat (row-major).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeypointTable {
    columns: usize,
    values: Vec<f64>,
}

impl KeypointTable {
    /// An empty table whose rows will have `columns` values.
    pub fn new(columns: usize) -> Self {
        Self {
            columns,
            values: Vec::new(),
        }
    }

    /// Builds a table from rows, checking that every row has `columns` finite values.
    ///
    /// ```
    /// # use pose_score::KeypointTable;
    /// let t = KeypointTable::from_rows(2, [[1.0, 2.0], [3.0, 4.0]])?;
    /// assert_eq!(t.len(), 2);
    /// assert_eq!(t.row(1), Some(&[3.0, 4.0][..]));
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn from_rows<R: AsRef<[f64]>>(
        columns: usize,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Self, ScoreError> {
        let mut t = Self::new(columns);
        for r in rows {
            t.push(r.as_ref())?;
        }
        Ok(t)
    }

    /// Appends one row (checked: length, and values 0 or finite within [`MIN_ABS_VALUE`] ..=
    /// [`MAX_ABS_VALUE`] in magnitude).
    pub fn push(&mut self, row: &[f64]) -> Result<(), ScoreError> {
        let index = self.len();
        if row.len() != self.columns {
            return Err(ScoreError::RowLength {
                row: index,
                expected: self.columns,
                got: row.len(),
            });
        }
        check_values(index, row)?;
        self.values.extend_from_slice(row);
        Ok(())
    }

    /// Values per row.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.columns).unwrap_or(0)
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Row `i`, if it exists.
    pub fn row(&self, i: usize) -> Option<&[f64]> {
        let start = i.checked_mul(self.columns)?;
        self.values.get(start..start.checked_add(self.columns)?)
    }

    /// The rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        self.values.chunks_exact(self.columns.max(1))
    }

    /// All values, row-major.
    pub fn as_flat(&self) -> &[f64] {
        &self.values
    }

    /// Reads a headerless CSV whose rows all have the same width, which must be one of
    /// `widths` (any width when `widths` is empty). Blank lines are skipped. Errors name the
    /// 1-based line: wrong column count, a field that is not a finite number, or no rows at all.
    ///
    /// ```
    /// # use pose_score::{KeypointTable, TableLimits};
    /// let csv = "1,2,3\n4,5,6\n";
    /// let t = KeypointTable::read_csv(csv.as_bytes(), &[3], TableLimits::default())?;
    /// assert_eq!(t.row(1), Some(&[4.0, 5.0, 6.0][..]));
    /// let bad = KeypointTable::read_csv("1,2,3\n4,x,6\n".as_bytes(), &[3], TableLimits::default());
    /// assert_eq!(bad.expect_err("must fail").to_string(), "line 2: field 2 is not a number: \"x\"");
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn read_csv(
        mut reader: impl BufRead,
        widths: &[usize],
        limits: TableLimits,
    ) -> Result<Self, ScoreError> {
        let mut table: Option<KeypointTable> = None;
        let mut line = Vec::new();
        let mut fields: Vec<f64> = Vec::new();
        let mut line_no = 0usize;
        loop {
            line.clear();
            let cap = u64::try_from(limits.max_line_bytes)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let n = std::io::Read::take(&mut reader, cap).read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if line.len() > limits.max_line_bytes {
                return Err(ScoreError::Csv {
                    line: line_no,
                    what: format!("line longer than {} bytes", limits.max_line_bytes),
                });
            }
            let text = std::str::from_utf8(&line).map_err(|_| ScoreError::Csv {
                line: line_no,
                what: "not UTF-8 text".to_owned(),
            })?;
            let text = if line_no == 1 {
                text.trim_start_matches('\u{feff}')
            } else {
                text
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            fields.clear();
            for (k, field) in text.split(',').enumerate() {
                let f = field.trim();
                let v: f64 = f.parse().map_err(|_| ScoreError::Csv {
                    line: line_no,
                    what: format!("field {} is not a number: {:?}", k + 1, short(f)),
                })?;
                if !is_coordinate(v) {
                    return Err(ScoreError::Csv {
                        line: line_no,
                        what: format!("field {} is not a finite coordinate: {f}", k + 1),
                    });
                }
                fields.push(v);
            }
            let t = match &mut table {
                Some(t) => t,
                None => {
                    if !widths.is_empty() && !widths.contains(&fields.len()) {
                        return Err(ScoreError::Csv {
                            line: line_no,
                            what: format!(
                                "{} columns, expected {}",
                                fields.len(),
                                widths
                                    .iter()
                                    .map(|w| w.to_string())
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            ),
                        });
                    }
                    table.insert(KeypointTable::new(fields.len()))
                }
            };
            if fields.len() != t.columns {
                return Err(ScoreError::Csv {
                    line: line_no,
                    what: format!(
                        "{} columns, expected {} like the lines above",
                        fields.len(),
                        t.columns
                    ),
                });
            }
            if t.len() >= limits.max_rows {
                return Err(ScoreError::TooLarge {
                    what: "keypoint rows",
                    got: t.len() + 1,
                    limit: limits.max_rows,
                });
            }
            t.values.extend_from_slice(&fields);
        }
        table.ok_or(ScoreError::Empty)
    }

    /// Reads the old project's `dancer_keyp_list.csv`: no header, 36 columns. The one reader of
    /// that file in the workspace (pose-core writes it).
    ///
    /// ```
    /// # use pose_score::KeypointTable;
    /// let line = vec!["1.5"; 36].join(",");
    /// let t = KeypointTable::read_openpose_csv(format!("{line}\n{line}\n").as_bytes())?;
    /// assert_eq!((t.len(), t.columns()), (2, 36));
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn read_openpose_csv(reader: impl BufRead) -> Result<Self, ScoreError> {
        Self::read_csv(reader, &[OPENPOSE_ROW_VALUES], TableLimits::default())
    }

    /// The name [`KeypointTable::read_openpose_csv`] had before.
    #[doc(hidden)]
    pub fn read_seed_csv(reader: impl BufRead) -> Result<Self, ScoreError> {
        Self::read_openpose_csv(reader)
    }

    /// Writes the table as headerless CSV, one row per line; numbers use the shortest text that
    /// reads back to the same `f64`, so `read_csv(write_csv(t)) == t`.
    ///
    /// ```
    /// # use pose_score::{KeypointTable, TableLimits};
    /// let t = KeypointTable::from_rows(3, [[0.1, 0.0, 320.931]])?;
    /// let mut out = Vec::new();
    /// t.write_csv(&mut out)?;
    /// assert_eq!(out, b"0.1,0,320.931\n");
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn write_csv(&self, mut writer: impl Write) -> Result<(), ScoreError> {
        let mut line = String::new();
        for row in self.rows() {
            line.clear();
            for (k, v) in row.iter().enumerate() {
                if k > 0 {
                    line.push(',');
                }
                line.push_str(&v.to_string());
            }
            line.push('\n');
            writer.write_all(line.as_bytes())?;
        }
        writer.flush()?;
        Ok(())
    }
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Checks that every value of row `row` is a usable coordinate (see [`MIN_ABS_VALUE`]).
pub(crate) fn check_values(row: usize, values: &[f64]) -> Result<(), ScoreError> {
    match values.iter().position(|v| !is_coordinate(*v)) {
        Some(index) => Err(ScoreError::BadValue {
            row,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<KeypointTable, ScoreError> {
        KeypointTable::read_csv(s.as_bytes(), &[2, 3], TableLimits::default())
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            read("").expect_err("must fail").to_string(),
            "no keypoint rows (empty file)"
        );
        assert_eq!(
            read("\n \n").expect_err("must fail").to_string(),
            "no keypoint rows (empty file)"
        );
        assert_eq!(
            read("1,2,3,4\n").expect_err("must fail").to_string(),
            "line 1: 4 columns, expected 2 or 3"
        );
        assert_eq!(
            read("1,2\n\n1,2,3\n").expect_err("must fail").to_string(),
            "line 3: 3 columns, expected 2 like the lines above"
        );
        assert_eq!(
            read("1,2\n1,\n").expect_err("must fail").to_string(),
            "line 2: field 2 is not a number: \"\""
        );
        assert_eq!(
            read("1,nan\n").expect_err("must fail").to_string(),
            "line 1: field 2 is not a finite coordinate: nan"
        );
        assert_eq!(
            read("1,1e-200\n").expect_err("must fail").to_string(),
            "line 1: field 2 is not a finite coordinate: 1e-200"
        );
    }

    #[test]
    fn accepts_crlf_bom_and_spaces() {
        let t = read("\u{feff}1, 2\r\n 3 ,4\r\n").expect("valid");
        assert_eq!(t.as_flat(), &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn limits_hold() {
        let lim = TableLimits {
            max_rows: 1,
            max_line_bytes: 8,
        };
        let e = KeypointTable::read_csv("1,2\n3,4\n".as_bytes(), &[], lim).expect_err("must fail");
        assert!(matches!(e, ScoreError::TooLarge { .. }), "{e}");
        let e =
            KeypointTable::read_csv("1,2,3,4,5,6\n".as_bytes(), &[], lim).expect_err("must fail");
        assert_eq!(e.to_string(), "line 1: line longer than 8 bytes");
    }

    proptest::proptest! {
        #[test]
        fn csv_round_trips(rows in proptest::collection::vec(proptest::collection::vec(-1e6f64..1e6, 5), 1..20)) {
            let t = KeypointTable::from_rows(5, &rows).expect("finite");
            let mut out = Vec::new();
            t.write_csv(&mut out).expect("write to memory");
            let back = KeypointTable::read_csv(out.as_slice(), &[5], TableLimits::default()).expect("read back");
            proptest::prop_assert_eq!(back, t);
        }
    }
}
