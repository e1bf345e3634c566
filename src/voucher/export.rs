//! Vouchers as CSV for the venue's back office: one row per code, the first redemption
//! and the count (more than one is a conflict), the void reason. Shared by
//! `raincheck voucher export --csv` and the console's download.

use super::events::VoucherRecord;
use std::io::Write;

pub const CSV_HEADER: &str =
    "code,offer,incident,issued_at,issued_by,redeemed_at,redeemed_by,redemptions,voided_reason";

pub fn write_csv(records: &[VoucherRecord], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    for record in records {
        write_csv_row(record, out)?;
    }
    Ok(())
}

/// One record's row (after `CSV_HEADER`): exports stream a row at a time.
pub fn write_csv_row(record: &VoucherRecord, out: &mut impl Write) -> std::io::Result<()> {
    let text = |value: Option<String>| value.unwrap_or_default();
    let first = record.redemptions.first();
    let fields = [
        record.code.clone(),
        text(record.offer_id.as_ref().map(ToString::to_string)),
        text(record.incident_id.as_ref().map(ToString::to_string)),
        text(record.issued.as_ref().map(|m| m.at.to_string())),
        text(record.issued.as_ref().map(|m| m.origin.to_string())),
        text(first.map(|m| m.at.to_string())),
        text(first.map(|m| m.origin.to_string())),
        record.redemptions.len().to_string(),
        text(record.voided.as_ref().map(|(_, reason)| reason.clone())),
    ];
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    writeln!(out, "{}", row.join(","))
}

/// One CSV field: quoted if it could break a row, and never a spreadsheet formula.
pub fn csv_field(text: &str) -> String {
    // Quote everything that could break a row, and neutralise spreadsheet formulas.
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_could_break_a_row_or_run_a_formula_are_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
