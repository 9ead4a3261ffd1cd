//! The notification package of one tenant (one 委託元) after a leak: a
//! Japanese draft of its report — 速報 and 確報, the nine items of
//! 施行規則第8条第1項 — filled from the analysis where the vault knows the
//! answer and marked 【要記入】 where only a person does, with the deadlines
//! counted from when the business knew; and the list of the people affected,
//! for 本人通知, encrypted to the tenant's own key and to nothing else.
//!
//! The duty to report is the 委託元's: a 委託先 running mamori for many
//! clients is exempt once it notifies each of them (法第26条第1項ただし書),
//! so the package is per tenant. Where the report goes is the tenant's
//! setting (`[breach] report_to`: the PPC, or the 総務省 for telecom
//! carriers, or a municipality's own route).
//!
//! The list holds customer numbers only, each marked confirmed or possible:
//! the tenant looks up how to reach its own customers in its own master, so
//! nothing more of them is decrypted here, and the person asking (the
//! security office) cannot read the list at all — the key it is encrypted to
//! is set with the tenant's schema, never chosen by the caller.

use std::{collections::BTreeMap, io::Write};

use mamori_core::{
    RecordId, jst,
    schema::{KEY_FIELD, ReportTo},
};
use mamori_crypto::PackageRecipient;
use mamori_policy::Action;
use mamori_scan::Kind;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    kernel::sealed,
    leak::{
        breach::{Category, TenantBreach, categories},
        matching::{Found, LeakParts, Leaked},
    },
};

const DAY: i64 = 86_400;

/// A leaked file as a notification package needs it: every entry of a zip
/// together, the kinds found counted, and every tenant's customers its
/// values name — matched part by part as the file was read, so a file of
/// any size makes a package.
pub struct LeakedFile {
    pub sha256: [u8; 32],
    pub items: BTreeMap<Kind, u64>,
    leak: LeakParts,
}

/// What the vault made for one tenant.
#[derive(Debug, Serialize)]
pub struct BreachNotice {
    pub tenant: String,
    pub report_to: ReportTo,
    /// When the business knew (RFC 3339, JST): the deadlines count from it.
    pub known_at: String,
    /// 速報: 「速やかに」, about 3 to 5 days.
    pub preliminary_due: [String; 2],
    /// 確報: 30 days; 60 when the leak may be by unlawful intent (③).
    pub final_due: String,
    pub final_due_unlawful: String,
    pub breach: TenantBreach,
    pub categories: Vec<Category>,
    /// The drafts (Markdown, Japanese).
    pub preliminary: String,
    #[serde(rename = "final")]
    pub final_report: String,
    /// The encrypted list, when the tenant has a recipient key.
    pub list: Option<NoticeList>,
}

/// The list of affected people (customer numbers), encrypted.
#[derive(Debug, Serialize)]
pub struct NoticeList {
    pub people: u64,
    pub confirmed: u64,
    /// The age recipient's fingerprint (to compare with the tenant).
    pub recipient: String,
    pub sha256: String,
    /// The age file (never written in clear anywhere).
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// When the business knew, and the deadlines counted from it (RFC 3339, JST).
struct Deadlines {
    known_at: String,
    /// 速報: 「速やかに」, about 3 to 5 days.
    preliminary: [String; 2],
    /// 確報: 30 days; 60 when the leak may be by unlawful intent (③).
    final_due: String,
    final_unlawful: String,
}

impl Deadlines {
    fn from(known_at: i64) -> Self {
        let after = |days: i64| jst::rfc3339(known_at + days * DAY);
        Deadlines {
            known_at: jst::rfc3339(known_at),
            preliminary: [after(3), after(5)],
            final_due: after(30),
            final_unlawful: after(60),
        }
    }
}

/// The facts a draft is written from.
struct Facts<'a> {
    tenant: &'a str,
    tenant_name: &'a str,
    file_sha256: &'a str,
    items: &'a BTreeMap<Kind, u64>,
    due: &'a Deadlines,
    breach: &'a TenantBreach,
    categories: &'a [Category],
    report_to: ReportTo,
    list: Option<&'a NoticeList>,
}

impl Vault {
    /// The caller's permission to make a notification package (a refusal is
    /// recorded); the event to record it in.
    fn notice_event(&self, caller: &Caller) -> Result<mamori_audit::Event> {
        let d = self.gate.decide_breach_notice(&caller.principal);
        self.gated(
            self.caller_event(caller, Action::BreachNotify.as_str(), "ok"),
            &d,
            "a breach notification package is for the security office",
        )
    }

    /// A leaked file's values, read for a notification package: the gate is
    /// asked first, so a caller who may not make one costs no scan of what
    /// they send (the refusal is recorded).
    pub fn read_leak(&self, caller: &Caller, name: &str, bytes: &[u8]) -> Result<LeakedFile> {
        self.notice_event(caller)?;
        let mut out = LeakedFile {
            sha256: mamori_scan::sha256(bytes),
            items: BTreeMap::new(),
            leak: LeakParts::default(),
        };
        let scan = |limits: mamori_scan::Limits, part, to| {
            mamori_scan::scan_buffer_streamed(name.into(), name, bytes, &limits, part, to)
        };
        self.match_stream(scan, |report, leak| {
            for (k, n) in &report.findings.counts {
                *out.items.entry(*k).or_default() += n;
            }
            out.leak.merge(leak);
            Ok(())
        })?;
        Ok(out)
    }

    /// A leaked file of values found already (by a scan of one's own): its
    /// SHA-256, the values and the kinds counted. Asked of the gate as
    /// `read_leak` is.
    pub fn leaked_values(
        &self,
        caller: &Caller,
        sha256: [u8; 32],
        found: &[Found],
        items: BTreeMap<Kind, u64>,
    ) -> Result<LeakedFile> {
        self.notice_event(caller)?;
        let mut leak = LeakParts::default();
        self.match_part(found, &self.active_tenants()?, &mut leak)?;
        Ok(LeakedFile {
            sha256,
            items,
            leak,
        })
    }

    /// The notification package of `tenant` for a leaked file; the
    /// deadlines count from `known_at` (now when not given). Security
    /// office only.
    pub fn breach_notice(
        &self,
        caller: &Caller,
        leaked: &LeakedFile,
        tenant: &str,
        known_at: Option<i64>,
    ) -> Result<BreachNotice> {
        let (file_sha256, items) = (&leaked.sha256, &leaked.items);
        let d = self.gate.decide_breach_notice(&caller.principal);
        let file = hex::encode(file_sha256);
        let mut event = self
            .gated(
                self.caller_event(caller, Action::BreachNotify.as_str(), "ok"),
                &d,
                "a breach notification package is for the security office",
            )?
            .detail("file_sha256", file.clone());
        let now = self.now();
        let known_at = known_at.unwrap_or(now);
        if known_at > now {
            let err = VaultError::bad(
                crate::ErrorCode::TimeInvalid,
                "the time the leak became known lies in the future",
            );
            return Err(self.refuse_invalid(event, err));
        }
        let state = self.tenant(tenant)?;
        if !state.active() {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let none = Leaked::default();
        let hits = leaked.leak.tenants.get(tenant).unwrap_or(&none);
        let breach = self.tenant_breach(tenant, hits)?;
        let cats = categories(items, &breach);
        let settings = &state.schema.breach;
        let list = match &settings.notify_recipient {
            Some(key) => Some(self.notice_list(&state, hits, key)?),
            None => None,
        };
        let due = Deadlines::from(known_at);
        let facts = Facts {
            tenant,
            tenant_name: &state.row.name,
            file_sha256: &file,
            items,
            due: &due,
            breach: &breach,
            categories: &cats,
            report_to: settings.report_to,
            list: list.as_ref(),
        };
        let notice = BreachNotice {
            tenant: tenant.to_owned(),
            report_to: settings.report_to,
            preliminary: draft(&facts, Stage::Preliminary),
            final_report: draft(&facts, Stage::Final),
            known_at: due.known_at.clone(),
            preliminary_due: due.preliminary.clone(),
            final_due: due.final_due.clone(),
            final_due_unlawful: due.final_unlawful.clone(),
            categories: cats,
            list,
            breach,
        };
        // The customers concerned are recorded by opaque id in the tenant's
        // log, with the figures and the list's hash — never a value.
        let mut ids: Vec<String> = hits.records.keys().map(RecordId::to_string).collect();
        ids.sort();
        event = event
            .tenant(tenant)
            .detail("known_at", notice.known_at.clone())
            .detail("confirmed", notice.breach.people_confirmed)
            .detail("possible", notice.breach.people_possible)
            .detail(
                "report_to",
                serde_json::to_value(notice.report_to).unwrap_or_default(),
            )
            .detail(
                "list_sha256",
                notice.list.as_ref().map(|l| l.sha256.clone()),
            )
            .detail(
                "list_recipient",
                notice.list.as_ref().map(|l| l.recipient.clone()),
            );
        event.records = ids;
        event.policies = d.policies().to_vec();
        self.audit.append(event)?;
        Ok(notice)
    }

    /// The customer numbers of the people the file names, confirmed ones
    /// first, as CSV encrypted to the tenant's key.
    fn notice_list(
        &self,
        state: &crate::tenants::TenantState,
        hits: &Leaked,
        key: &str,
    ) -> Result<NoticeList> {
        let internal =
            |e: &dyn std::fmt::Display| VaultError::Internal(format!("notice list: {e}"));
        let recipient = PackageRecipient::parse(key).map_err(|e| internal(&e))?;
        let mut rows: Vec<(bool, String)> = Vec::with_capacity(hits.records.len());
        for id in hits.records.keys() {
            let Some(r) = self.store.record(&state.row.id, id)? else {
                continue;
            };
            let k = state.keys_for(r.key_version)?;
            let plain = sealed::open(&k.data, r.id.as_bytes(), &r.sealed, |f| f == KEY_FIELD)?;
            if let Some(no) = plain.get(KEY_FIELD) {
                rows.push((hits.confirms(id), no.clone()));
            }
        }
        rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut writer = recipient.writer(Vec::new()).map_err(|e| internal(&e))?;
        // A BOM so that Excel opens the UTF-8 file as UTF-8.
        writer
            .write_all("\u{feff}".as_bytes())
            .map_err(|e| internal(&e))?;
        let mut csv = csv::WriterBuilder::new().from_writer(writer);
        csv.write_record([KEY_FIELD, "確認 / evidence"])
            .map_err(|e| internal(&e))?;
        for (confirmed, no) in &rows {
            let how = if *confirmed {
                "確認済み / confirmed"
            } else {
                "可能性 / possible"
            };
            csv.write_record([no.as_str(), how])
                .map_err(|e| internal(&e))?;
        }
        let bytes = csv
            .into_inner()
            .map_err(|e| internal(e.error()))?
            .finish()
            .map_err(|e| internal(&e))?;
        Ok(NoticeList {
            people: rows.len() as u64,
            confirmed: rows.iter().filter(|r| r.0).count() as u64,
            recipient: recipient.fingerprint(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Preliminary,
    Final,
}

const TO_FILL: &str = "【要記入】";

/// One draft, in Japanese (the report is filed in Japanese).
fn draft(f: &Facts<'_>, stage: Stage) -> String {
    let b = f.breach;
    let mut s = String::new();
    let mut line = |t: String| {
        s.push_str(&t);
        s.push('\n');
    };
    let (title, due) = match stage {
        Stage::Preliminary => (
            "速報",
            format!(
                "{} 〜 {}（「速やかに」: 知った時からおおむね3〜5日以内）",
                f.due.preliminary[0], f.due.preliminary[1]
            ),
        ),
        Stage::Final => (
            "確報",
            format!(
                "{}（知った日から30日以内。不正の目的によるおそれがある場合は {} まで: 60日以内）",
                f.due.final_due, f.due.final_unlawful
            ),
        ),
    };
    line(format!(
        "# 個人データの漏えい等の報告（{title}）— 下書き / draft"
    ));
    line(String::new());
    line(format!("- 提出先: {}", destination(f.report_to)));
    line(format!(
        "- 報告者: {}（テナント {}）{TO_FILL} 法人名・代表者・担当部署・連絡先",
        f.tenant_name, f.tenant
    ));
    line(format!(
        "- 知った日時: {}（期限はこの時点から数えます）",
        f.due.known_at
    ));
    line(format!("- 提出期限の目安: {due}"));
    line(format!(
        "- 根拠: 漏えいファイル SHA-256 {}。この下書きは mamori が監査ログと顧客データの照合から作成し、作成自体も監査ログに記録されています（breach.notify）。{TO_FILL} の箇所は担当者が記入してください。",
        f.file_sha256
    ));
    line(String::new());
    line("## 報告対象となる事態（施行規則第7条）".into());
    for c in f.categories {
        let v = match c.verdict {
            "applies" => "該当",
            "may_apply" => "該当のおそれ",
            _ => "要判断",
        };
        line(format!("- {} {v}: {}", c.id, c.why));
    }
    line(String::new());
    line("## 1. 概要".into());
    line(format!(
        "- 発覚の経緯: 外部で見つかったファイルを解析し、当該テナントの顧客データと照合した結果、顧客の個人データが含まれることを確認。{TO_FILL} 発見の経緯（通報・PC点検・警察からの連絡等）"
    ));
    match period(b) {
        Some((first, last)) => line(format!(
            "- 発生時期（推定）: 漏えいした顧客が最後に閲覧・持ち出しされた記録は {last}（最初は {first}）。ファイルはこれ以降に作成されたと推定されます。{TO_FILL} 調査による確定"
        )),
        None => line(format!(
            "- 発生時期: 監査ログに当該顧客の閲覧・持ち出しの記録がありません（システム外での取得の可能性）。{TO_FILL}"
        )),
    }
    line(String::new());
    line("## 2. 漏えい等が発生し、又は発生したおそれがある個人データの項目".into());
    for (k, n) in f.items {
        line(format!("- {}（ファイル中 {n} 件）", k.label_ja()));
    }
    line(format!(
        "- 要配慮個人情報の有無: {TO_FILL}（パターンでは判別できません）"
    ));
    line(String::new());
    line("## 3. 漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数".into());
    line(format!(
        "- 確認済み: {} 人（同じ行の2項目以上が同一の顧客と一致）",
        b.people_confirmed
    ));
    line(format!(
        "- 最大: {} 人（1項目の一致を含む上限）",
        b.people_possible
    ));
    line(match stage {
        Stage::Preliminary => format!(
            "- 報告する人数: 「最大 {} 人（うち確認済み {} 人）」。調査の進展に応じ確報で確定します。",
            b.people_possible, b.people_confirmed
        ),
        Stage::Final => format!(
            "- 報告する人数: {TO_FILL} 確定値（速報時点: 最大 {} 人、うち確認済み {} 人）",
            b.people_possible, b.people_confirmed
        ),
    });
    line(String::new());
    line("## 4. 原因".into());
    for r in b.readers.iter().take(5) {
        line(format!(
            "- 閲覧したアカウント: {} — 漏えい顧客の {} 人（{:.0}%）、{} 〜 {}",
            r.who,
            r.customers,
            r.share * 100.0,
            r.first,
            r.last
        ));
    }
    for x in b.exports.iter().take(5) {
        line(format!(
            "- 含まれていたエクスポート: {}（申請者 {}）— {} 人（{:.0}%）、{}",
            x.who,
            x.requester.as_deref().unwrap_or("不明"),
            x.customers,
            x.share * 100.0,
            x.last
        ));
    }
    if b.readers.is_empty() && b.exports.is_empty() {
        line("- 監査ログ上、漏えい顧客を閲覧・持ち出したアカウントは見つかりません。".into());
    }
    line(format!("- {TO_FILL} 調査で判明した原因"));
    line(String::new());
    line("## 5. 二次被害又はそのおそれの有無及びその内容".into());
    let card = f.items.get(&Kind::Card).copied().unwrap_or(0) > 0;
    line(format!(
        "- クレジットカード番号: {}。{TO_FILL} 不正利用等の有無",
        if card {
            "含まれる"
        } else {
            "含まれない"
        }
    ));
    line(String::new());
    line("## 6. 本人への対応の実施状況".into());
    match f.list {
        Some(l) => line(format!(
            "- 本人通知の対象者: {} 人（うち確認済み {} 人）の顧客番号一覧を、テナントの受領用鍵（指紋 {}）に暗号化して作成済み（SHA-256 {}）。",
            l.people, l.confirmed, l.recipient, l.sha256
        )),
        None => line(
            "- 本人通知の対象者一覧: テナントの受領用鍵（スキーマの [breach] notify_recipient）が未設定のため作成していません。"
                .into(),
        ),
    }
    line(format!("- {TO_FILL} 通知の方法・時期・問い合わせ窓口"));
    line(String::new());
    line("## 7. 公表の実施状況".into());
    line(format!("- {TO_FILL}"));
    line(String::new());
    line("## 8. 再発防止のための措置".into());
    line(format!(
        "- {TO_FILL}（参考: 該当アカウントの停止・権限の見直し、エクスポート承認の見直し、PC点検（mamori agent hunt）の実施と結果）"
    ));
    line(String::new());
    line("## 9. その他参考となる事項".into());
    line(format!(
        "- 委託関係: 委託先（本システムの運用者）から委託元である報告者へ通知済み（法第26条第1項ただし書）。{TO_FILL} 連名での報告の要否"
    ));
    if f.report_to == ReportTo::Soumu {
        line(format!(
            "- 電気通信事業者: 通信の秘密に係る事故の報告（電気通信事業法）の要否 {TO_FILL}"
        ));
    }
    line(format!("- 警察への相談・届出: {TO_FILL}"));
    s
}

/// Where the report is filed.
fn destination(to: ReportTo) -> &'static str {
    match to {
        ReportTo::Ppc => "個人情報保護委員会（漏えい等報告フォーム）",
        ReportTo::Soumu => "総務省 総合通信局（個人情報保護委員会から権限の委任を受けた分野）",
        ReportTo::Municipal => {
            "所管の手続（行政機関等: 個人情報保護委員会への報告。本人の数が100人を超える場合等）"
        }
    }
}

/// The first and last time any account or export was shown a leaked
/// customer (the leak cannot be older than the last).
fn period(b: &TenantBreach) -> Option<(String, String)> {
    let all = b.readers.iter().chain(&b.exports);
    let first = all.clone().map(|o| o.first.clone()).min()?;
    let last = all.map(|o| o.last.clone()).max()?;
    Some((first, last))
}
