//! `raincheck voucher …`: the counter's voucher operations on this terminal's own store,
//! with the same answers as the counter screen. The store is opened directly, so these
//! commands run while the terminal's node is stopped (sled allows one process at a time).

use crate::cli::VoucherAction;
use crate::config::CounterSection;
use crate::voucher::events::VoucherRecord;
use crate::voucher::lifecycle::{describe_answer, last_day_text, RedeemAnswer, RedeemContext};
use crate::voucher::store::{voucher_day, IssueRequest};
use anyhow::{anyhow, bail, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;

/// Exit status of a redemption that was refused (the code was read fine).
const REFUSED: u8 = 4;

pub fn run(config: Option<PathBuf>, action: VoucherAction) -> Result<ExitCode> {
    let path = config
        .ok_or_else(|| anyhow!("which terminal? pass --config FILE (or set RAINCHECK_CONFIG)"))?;
    let config = crate::config::load(&path).map_err(|report| anyhow!("{report}"))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let store = crate::voucher::open::open_store(&config, base)?;
    let counter = config
        .counter
        .as_ref()
        .ok_or_else(|| anyhow!("{} has no [counter] section", path.display()))?;
    let now = OffsetDateTime::now_utc();
    match action {
        VoucherAction::Issue {
            offer,
            incident,
            staff,
            count,
            print,
        } => {
            let offer = counter
                .offers
                .iter()
                .find(|o| o.id.as_str() == offer)
                .ok_or_else(|| {
                    anyhow!("no offer {offer:?}; the offers are {}", offer_ids(counter))
                })?;
            let incident = incident
                .map(|id| {
                    crate::protocol::Identifier::parse(&id)
                        .map_err(|error| anyhow!("--incident {id:?} {error}"))
                })
                .transpose()?;
            if print && counter.printer.is_none() {
                bail!("--print needs counter.printer in the config");
            }
            let mut stdout = std::io::stdout().lock();
            for _ in 0..count {
                let request = IssueRequest {
                    offer,
                    incident: incident.clone(),
                    staff: staff.clone(),
                    now: OffsetDateTime::now_utc(),
                    past_cap: None,
                };
                let issued = store.issue(request)?;
                // Only now, with the voucher on disk, may anyone see the code.
                writeln!(
                    stdout,
                    "issued {}  {}  valid until {}",
                    issued.code,
                    offer.title,
                    last_day_text(issued.code.fields.expiry_day)
                )?;
                stdout.flush()?;
                if print {
                    crate::voucher::printer::print_voucher(&config, offer, &issued.code).map_err(|error| {
                        anyhow!("the voucher is issued and saved, but the receipt did not print: {error}")
                    })?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        VoucherAction::Redeem {
            code,
            staff,
            offline,
        } => {
            let context = RedeemContext {
                today: voucher_day(now),
                online: !offline,
                policy: counter.offline_redemption,
                this_terminal: counter.terminal,
            };
            let (redemption, _) = store.redeem(&code, staff, context, now)?;
            let answer = redemption.answer;
            println!("{}", describe_answer(&answer));
            Ok(if answer == RedeemAnswer::Valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(REFUSED)
            })
        }
        VoucherAction::Void {
            code,
            reason,
            manager,
        } => {
            // Every rule (a reason, once only) is the voucher lifecycle's, as everywhere.
            store
                .void(&code, &reason, manager, now)
                .map_err(|error| anyhow!("not voided: {error}"))?;
            println!("voided {}", code.trim());
            Ok(ExitCode::SUCCESS)
        }
        VoucherAction::Show { code } => {
            let (parsed, record) = store.lookup(&code)?;
            let parsed = parsed.map_err(|error| anyhow!("{error}"))?;
            println!(
                "code {parsed}: offer number {}, terminal {}, serial {}, valid until {}",
                parsed.fields.offer,
                parsed.fields.terminal,
                parsed.fields.serial,
                last_day_text(parsed.fields.expiry_day)
            );
            match record {
                None => println!(
                    "this terminal has no record of it yet (issued elsewhere and not synced)"
                ),
                Some(record) => println!("{}", describe_record(&record)),
            }
            Ok(ExitCode::SUCCESS)
        }
        VoucherAction::List => {
            for record in store.records()? {
                println!("{}", describe_record(&record));
            }
            Ok(ExitCode::SUCCESS)
        }
        VoucherAction::Conflicts => {
            let conflicts: Vec<_> = store
                .records()?
                .into_iter()
                .filter(VoucherRecord::is_conflict)
                .collect();
            if conflicts.is_empty() {
                println!("no conflicts");
            }
            for record in conflicts {
                println!("{}", describe_record(&record));
            }
            Ok(ExitCode::SUCCESS)
        }
        VoucherAction::Export { .. } => {
            let mut out = std::io::stdout().lock();
            crate::voucher::export::write_csv(&store.records()?, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn offer_ids(counter: &CounterSection) -> String {
    counter
        .offers
        .iter()
        .map(|o| o.id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_record(record: &VoucherRecord) -> String {
    let issued = record
        .issued
        .as_ref()
        .map(|m| format!("issued {} by {}", m.at, m.origin))
        .unwrap_or_else(|| "issue not synced yet".into());
    let redeemed = match record.redemptions.as_slice() {
        [] => "not redeemed".to_owned(),
        [one] => format!("redeemed {} by {}", one.at, one.origin),
        many => format!(
            "CONFLICT: redeemed {} times ({})",
            many.len(),
            many.iter()
                .map(|m| format!("{} by {}", m.at, m.origin))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    let twice = if record.duplicate_issues.is_empty() {
        String::new()
    } else {
        let others: Vec<String> = record
            .duplicate_issues
            .iter()
            .map(|m| m.origin.to_string())
            .collect();
        format!(
            ", CONFLICT: also issued by {} (is a terminal number configured twice?)",
            others.join(", ")
        )
    };
    let voided = record
        .voided
        .as_ref()
        .map(|(m, reason)| format!(", voided by {}: {reason}", m.origin))
        .unwrap_or_default();
    format!(
        "{}  {}  {issued}, {redeemed}{twice}{voided}",
        record.code,
        record
            .offer_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    )
}
