// The console's flows in Debian's Chromium, driven by playwright-core (which
// downloads no browser). Run by crates/cli/tests/e2e/console_browser.rs with:
//   MAMORI_URL     the server's base URL
//   MAMORI_FLOWS   JSON: {operator, sysadmin: tokens; tenant, purpose, case_id, phone, masked, secret}
//   MAMORI_SHOTS   a directory for screenshots (looked at, never committed)
// Exits non-zero on the first broken expectation, printing what broke.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const base = process.env.MAMORI_URL;
const f = JSON.parse(process.env.MAMORI_FLOWS);
const shots = process.env.MAMORI_SHOTS;
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

function check(ok, what) {
  if (!ok) {
    console.error('FAILED: ' + what);
    process.exit(1);
  }
}

// A context that records CSP violations and console errors. axe is injected
// by the test harness (bypassCSP): the pages themselves run no script.
async function browserContext(browser, lang) {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1100, height: 900 } });
  if (lang === 'en') {
    await context.addCookies([{ name: 'mamori_lang', value: 'en', url: base + '/console/' }]);
  }
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    // Only the console's own pages are judged (not the identity provider's).
    const at = (m.location() && m.location().url) || '';
    if (at !== '' && !at.startsWith(base)) return;
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  return { context, page, problems };
}

async function axe(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `${name}: accessibility violations: ${bad.map((v) => v.id + ' (' + v.nodes.length + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 160)).join(' ; ') + ')').join(', ')}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

async function signIn(page, token) {
  await page.goto(base + '/console/login');
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.waitForURL(base + '/console/');
}

async function operatorFlow(browser, lang) {
  const { context, page, problems } = await browserContext(browser, lang);
  await page.goto(base + '/console/login');
  check((await page.getAttribute('html', 'lang')) === lang, `${lang}: the sign-in page is in ${lang}`);
  await axe(page, `${lang} sign-in`);
  await shot(page, `${lang}-sign-in`);
  await signIn(page, f.operator);
  await axe(page, `${lang} home`);
  await shot(page, `${lang}-home`);

  // Keyboard first: purpose and case before the value.
  await page.goto(base + '/console/lookup');
  await page.selectOption('#tenant', f.tenant);
  await page.selectOption('#purpose', f.purpose);
  await page.fill('#case_id', f.case_id);
  await page.fill('#value', f.phone);
  await page.press('#value', 'Enter');
  await page.waitForLoadState();
  const body = await page.textContent('main');
  check(body.includes(f.masked), `${lang}: the masked value is shown`);
  check(!body.includes(f.secret), `${lang}: the unmasked value is not shown`);
  check((await page.locator('.watermark').count()) === 1, `${lang}: watermarked`);
  await axe(page, `${lang} lookup result`);
  await shot(page, `${lang}-lookup`);
  await page.emulateMedia({ media: 'print' });
  check(!(await page.isVisible('main')), `${lang}: customer data is not printed`);
  check(await page.isVisible('.print-notice'), `${lang}: a notice is printed instead`);
  await page.emulateMedia({ media: 'screen' });
  const stored = await page.evaluate(() => localStorage.length + sessionStorage.length);
  check(stored === 0, `${lang}: nothing in browser storage`);

  // A purpose the tenant does not define (a forged form): refused, and the page says why.
  await page.evaluate(() => document.querySelector('#purpose').add(new Option('marketing', 'marketing')));
  await page.selectOption('#purpose', 'marketing');
  await page.fill('#case_id', f.case_id);
  await page.fill('#value', f.phone);
  await page.press('#value', 'Enter');
  await page.waitForLoadState();
  check((await page.locator('[role=alert]').count()) === 1, `${lang}: a refusal is explained`);
  await shot(page, `${lang}-refused`);

  // Signed out, the back button shows no customer data.
  await page.click('header form[action="/console/logout"] button');
  await page.waitForURL(/\/console\/login/);
  // The page before was a form's answer under no-store: Chromium refuses to
  // show it again without re-sending the form (ERR_CACHE_MISS), which it
  // may not do without asking — either way nothing of the customer shows.
  try {
    await page.goBack();
    await page.waitForLoadState();
  } catch (e) {
    check(/ERR_CACHE_MISS/.test(String(e)), `${lang}: back after sign-out: ${e}`);
  }
  await page.waitForLoadState('load');
  await page.waitForTimeout(300);
  const after = await page.evaluate(() => document.documentElement.outerHTML);
  check(!after.includes(f.masked), `${lang}: nothing of the customer after sign-out and back`);
  check(problems.length === 0, `${lang}: console errors or CSP violations: ${problems.join(' | ')}`);
  await context.close();
}

// The operator asks for a partner's customer for one case; the supervisor
// approves in the inbox; the customer then shows under that case.
async function grantFlow(browser) {
  const op = await browserContext(browser, 'ja');
  await signIn(op.page, f.operator);
  await op.page.goto(`${base}/console/requests/new?tenant=${f.tenant}&purpose=${f.purpose}&case_id=CALL-9`);
  await op.page.selectOption('#segment', 'collab');
  await op.page.fill('#justification', '提携先のお客さまからの解約のお問い合わせ対応のため');
  await op.page.fill('#records', '3');
  await op.page.fill('#hours', '4');
  await axe(op.page, 'request form');
  await op.page.click('form[action="/console/requests"] button[type=submit]');
  await op.page.waitForLoadState();
  check((await op.page.locator('[role=status]').count()) === 1, 'the request is filed');
  await shot(op.page, 'ja-requested');

  const sv = await browserContext(browser, 'ja');
  await signIn(sv.page, f.supervisor);
  await sv.page.click('a[href="/console/inbox"]');
  await sv.page.waitForLoadState();
  check((await sv.page.textContent('main')).includes('CALL-9'), 'the request waits in the inbox');
  await axe(sv.page, 'inbox');
  await shot(sv.page, 'ja-inbox');
  await sv.page.fill('section.request input[name=comment]', '承認します');
  await sv.page.click('section.request button[value=approve]');
  await sv.page.waitForLoadState();
  check((await sv.page.locator('[role=status]').count()) === 1, 'the approval is recorded');
  check(sv.problems.length === 0, `supervisor: console errors: ${sv.problems.join(' | ')}`);
  await sv.context.close();

  await op.page.goto(base + '/console/lookup');
  await op.page.selectOption('#tenant', f.tenant);
  await op.page.selectOption('#purpose', f.purpose);
  await op.page.fill('#case_id', 'CALL-9');
  await op.page.fill('#value', f.partner_phone);
  await op.page.press('#value', 'Enter');
  await op.page.waitForLoadState();
  check((await op.page.textContent('main')).includes(f.partner_masked), 'the granted customer shows, masked');
  await shot(op.page, 'ja-granted');
  check(op.problems.length === 0, `operator: console errors: ${op.problems.join(' | ')}`);
  await op.context.close();
}

// The security office opens the alert a decoy read raised and resolves it.
async function alertFlow(browser) {
  const { context, page, problems } = await browserContext(browser, 'ja');
  await signIn(page, f.officer);
  await page.click('a[href="/console/alerts"]');
  await page.waitForLoadState();
  await axe(page, 'alerts');
  await page.click(`a[href="/console/alerts/${f.alert}"]`);
  await page.waitForLoadState();
  await axe(page, 'alert');
  await page.fill('#text', 'おとり顧客を閲覧した理由を本日中に報告してください');
  await page.click('form[action$="/directive"] button');
  await page.waitForLoadState();
  check((await page.locator('[role=status]').count()) === 1, 'the directive is issued');
  await page.goto(base + '/console/directives');
  check((await page.textContent('main')).includes('本日中に報告'), 'the directive is listed');
  await axe(page, 'directives');
  await shot(page, 'ja-directives');
  await page.goto(`${base}/console/alerts/${f.alert}`);
  await page.fill('#note', 'おとり顧客の閲覧を本人に確認した。テスト手順の誤りで、再発防止を指導した。');
  await page.click('button[value=resolve]');
  await page.waitForLoadState();
  check((await page.locator('[role=status]').count()) === 1, 'the alert is resolved');
  check((await page.textContent('main')).includes('解決済み'), 'shown as resolved');
  await shot(page, 'ja-alert-resolved');
  check(problems.length === 0, `security office: console errors: ${problems.join(' | ')}`);
  await context.close();
}

// The auditor searches the log for lookups and opens one event's proof.
async function auditorFlow(browser) {
  const { context, page, problems } = await browserContext(browser, 'ja');
  await signIn(page, f.auditor);
  await page.click('a[href="/console/audit"]');
  await page.fill('#action', 'record.search');
  await page.press('#action', 'Enter');
  await page.waitForLoadState();
  await axe(page, 'audit search');
  await page.click('a[href^="/console/audit/proof"]');
  await page.waitForLoadState();
  check((await page.textContent('main')).includes('リーフハッシュ'), 'the proof is shown');
  await axe(page, 'audit proof');
  await shot(page, 'ja-audit-proof');
  check(problems.length === 0, `auditor: console errors: ${problems.join(' | ')}`);
  await context.close();
}

// The supervisor approves the export from the inbox; the security office
// sees it on the dashboard (in both languages) and gives the second approval.
async function exportFlow(browser) {
  const sv = await browserContext(browser, 'ja');
  await signIn(sv.page, f.supervisor);
  await sv.page.click('a[href="/console/inbox"]');
  await sv.page.waitForLoadState();
  await sv.page.click(`a[href="/console/exports/${f.export}"]`);
  await sv.page.waitForLoadState();
  check((await sv.page.textContent('main')).includes('さくら印刷株式会社'), 'the recipient is named');
  await axe(sv.page, 'export');
  await shot(sv.page, 'ja-export');
  await sv.page.fill('#comment', '宛先と項目を確認しました');
  await sv.page.click('button[value=approve]');
  await sv.page.waitForLoadState();
  check((await sv.page.locator('[role=status]').count()) === 1, 'the first approval is recorded');
  check((await sv.page.locator('button[value=approve]').count()) === 0, 'not offered twice');
  check(sv.problems.length === 0, `supervisor: console errors: ${sv.problems.join(' | ')}`);
  await sv.context.close();

  for (const lang of ['ja', 'en']) {
    const so = await browserContext(browser, lang);
    await signIn(so.page, f.officer);
    await so.page.click('header a[href="/console/dashboard"]');
    await so.page.waitForLoadState();
    check((await so.page.locator('svg.chart').count()) >= 3, `${lang}: the dashboard draws its charts`);
    const exportsCard = await so.page.textContent('a.card[href="/console/exports"] .n');
    // The Japanese pass gives the second approval: none waits in English.
    const waiting = lang === 'ja' ? '1' : '0';
    check(exportsCard.trim() === waiting, `${lang}: ${waiting} export waits (${exportsCard})`);
    await axe(so.page, `${lang} dashboard`);
    await shot(so.page, `${lang}-dashboard`);
    if (lang === 'ja') {
      await so.page.click('a.card[href="/console/exports"]');
      await so.page.waitForLoadState();
      await axe(so.page, 'exports');
      await so.page.click(`a[href="/console/exports/${f.export}"]`);
      await so.page.waitForLoadState();
      await so.page.click('button[value=approve]');
      await so.page.waitForLoadState();
      check((await so.page.textContent('main')).includes('ダウンロード可'), 'two approvals: ready');
      await shot(so.page, 'ja-export-ready');
    }
    check(so.problems.length === 0, `${lang} security office: console errors: ${so.problems.join(' | ')}`);
    await so.context.close();
  }
}

// The security office's records: people (a course recorded through the
// form), vendors, decoys.
async function peopleFlow(browser) {
  const { context, page, problems } = await browserContext(browser, 'ja');
  await signIn(page, f.officer);
  await page.click('header a[href="/console/people"]');
  await page.waitForLoadState();
  await axe(page, 'people');
  await shot(page, 'ja-people');
  await page.click('a[href="/console/people/sv"]');
  await page.waitForLoadState();
  await page.fill('#score', '92');
  await page.click('button[value=training]');
  await page.waitForLoadState();
  check((await page.locator('[role=status]').count()) === 1, 'the course is recorded');
  check((await page.textContent('main')).includes('令和'), 'dated in the Japanese calendar');
  await axe(page, 'person');
  await shot(page, 'ja-person');
  await page.goto(base + '/console/vendors');
  await axe(page, 'vendors');
  await page.goto(base + '/console/honey');
  check((await page.locator('tbody tr, table tr').count()) >= 2, 'the decoy planted for the test is listed');
  await axe(page, 'decoys');
  await shot(page, 'ja-honey');
  // A file found outside: who was shown those customers?
  await page.click('header a[href="/console/leak"]');
  await page.waitForLoadState();
  await axe(page, 'leak form');
  await page.setInputFiles('#file', { name: 'found.csv', mimeType: 'text/csv',
    buffer: Buffer.from('氏名,電話番号\n試験 花子,03-5555-0001\n') });
  await page.click('form[action="/console/leak"] button[type=submit]');
  await page.waitForLoadState();
  const leak = await page.textContent('main');
  check(leak.includes('user:op'), 'the operator who read the customer is named');
  check(!leak.includes('5555-0001'), 'the value is masked');
  check((await page.locator('.watermark').count()) === 1, 'the analysis is watermarked');
  await axe(page, 'leak analysis');
  await shot(page, 'ja-leak');
  await page.setInputFiles('#n-file', { name: 'found.csv', mimeType: 'text/csv',
    buffer: Buffer.from('氏名,電話番号\n試験 花子,03-5555-0001\n') });
  await page.click('form[action="/console/leak/notice"] button[type=submit]');
  await page.waitForLoadState();
  check((await page.textContent('main')).includes('速報の下書き'), 'the drafts are made');
  await axe(page, 'leak notice');
  await shot(page, 'ja-leak-notice');
  // The month's self-inspection, from the records.
  await page.click('header a[href="/console/oversight"]');
  await page.waitForLoadState();
  check((await page.locator('form[action="/console/oversight/declare"]').count()) === 3, 'three items to declare');
  await axe(page, 'oversight');
  await shot(page, 'ja-oversight');
  await page.click('header a[href="/console/audits"]');
  await page.waitForLoadState();
  await axe(page, 'vendor audits');
  await page.click('header a[href="/console/reconciliation"]');
  await page.waitForLoadState();
  await axe(page, 'reconciliation');
  await page.fill('#month', new Date(Date.now() + 9 * 3600000).toISOString().slice(0, 7));
  await page.setInputFiles('#people', { name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from('login,badge,pc_account\nop,B1,CORP\\op\n') });
  await page.setInputFiles('#rooms', { name: 'rooms.csv', mimeType: 'text/csv', buffer: Buffer.from('日時,カード番号,区分\n') });
  await page.setInputFiles('#logons', { name: 'logons.csv', mimeType: 'text/csv', buffer: Buffer.from('TimeCreated,Id,MachineName,TargetUserName,TargetDomainName,TargetLogonId,LogonType\n') });
  await page.click('form[action="/console/reconciliation"] button[type=submit]');
  await page.waitForLoadState();
  check((await page.textContent('main')).includes('突合を実行しました'), 'the month is reconciled');
  await axe(page, 'reconciliation run');
  await shot(page, 'ja-reconciliation');
  await page.click('header a[href="/console/machines"]');
  await page.waitForLoadState();
  await axe(page, 'PC agents');
  check(problems.length === 0, `security office: console errors: ${problems.join(' | ')}`);
  await context.close();
}

// The security office opens a quarterly review; the supervisor keeps the
// operator's segment with a reason; the office reads the figures.
async function reviewFlow(browser) {
  const so = await browserContext(browser, 'ja');
  await signIn(so.page, f.officer);
  await so.page.click('header a[href="/console/reviews"]');
  await so.page.waitForLoadState();
  await so.page.fill('#title', '第3四半期 アクセスレビュー');
  await so.page.fill('#tenant', f.tenant);
  await so.page.selectOption('#kind', 'segment');
  const d = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
  await so.page.fill('#deadline', d);
  await so.page.click('form[action="/console/reviews"] button[type=submit]');
  await so.page.waitForLoadState();
  check((await so.page.locator('[role=status]').count()) === 1, 'the review is opened');
  await axe(so.page, 'reviews');
  await shot(so.page, 'ja-reviews');

  const sv = await browserContext(browser, 'ja');
  await signIn(sv.page, f.supervisor);
  await sv.page.click('header a[href="/console/reviews"]');
  await sv.page.waitForLoadState();
  await sv.page.click('a[href^="/console/reviews/items?campaign="]');
  await sv.page.waitForLoadState();
  check((await sv.page.textContent('main')).includes('op — acme own'), 'the operator\'s segment is to review');
  await axe(sv.page, 'review items');
  await shot(sv.page, 'ja-review-items');
  await sv.page.fill('section.request input[name=reason]', '日常の問い合わせ対応で利用しているため');
  await sv.page.click('section.request button[value=keep]');
  await sv.page.waitForLoadState();
  check((await sv.page.locator('[role=status]').count()) === 1, 'kept');
  check(sv.problems.length === 0, `supervisor: console errors: ${sv.problems.join(' | ')}`);
  await sv.context.close();

  await so.page.click('a[href^="/console/reviews/"]:not([href*="items"])');
  await so.page.waitForLoadState();
  check((await so.page.locator('svg.chart').count()) === 1, 'the keep rate is charted');
  await axe(so.page, 'review figures');
  check(so.problems.length === 0, `security office: console errors: ${so.problems.join(' | ')}`);
  await so.context.close();
}

// Sign-in through the organisation's identity provider (a real OpenID
// Provider): the button on the sign-in page, the provider's own form, and
// back in the console as the person the provider vouched for; signing out
// ends the session, and the back button shows nothing of it.
async function idpFlow(browser) {
  const { context, page, problems } = await browserContext(browser, 'ja');
  await page.goto(base + '/console/login');
  await axe(page, 'idp-login');
  await shot(page, 'ja-idp-login');
  await page.click(`a:has-text("${f.idp.label}")`);
  await page.waitForSelector('input[name="login"]');
  check(page.url().startsWith('http://127.0.0.1') && !page.url().startsWith(base), 'at the identity provider');
  await page.fill('input[name="login"]', f.idp.account);
  await page.click('button[type="submit"]');
  await page.waitForURL(base + '/console/');
  const header = await page.textContent('header');
  check(header.includes(f.idp.login), `signed in through the provider as ${f.idp.login}: ${header}`);
  await axe(page, 'idp-signed-in');
  await shot(page, 'ja-idp-signed-in');
  await page.click('header form[action="/console/logout"] button');
  await page.waitForURL(base + '/console/login');
  await page.goto(base + '/console/lookup');
  check(page.url().startsWith(base + '/console/login'), 'signed out: back to the sign-in page');
  check(problems.length === 0, `idp: console problems: ${problems.join(' | ')}`);
  await context.close();
}

async function sysadminFlow(browser) {
  const { context, page, problems } = await browserContext(browser, 'ja');
  await signIn(page, f.sysadmin);
  check((await page.locator('a[href="/console/lookup"]').count()) === 0, 'sysadmin: no lookup offered');
  const r = await page.goto(base + '/console/lookup');
  check(r.status() === 403, 'sysadmin: the lookup is refused');
  await axe(page, 'sysadmin refused');
  await shot(page, 'ja-sysadmin-refused');
  // Their own page: the system's health, every audit log signed.
  await page.goto(base + '/console/');
  await page.click('header a[href="/console/system"]');
  await page.waitForLoadState();
  const main = await page.textContent('main');
  check(main.includes('tenant/acme') && main.includes('system'), 'sysadmin: the logs are listed');
  check(!main.includes(f.secret) && !main.includes(f.masked), 'sysadmin: no customer data');
  await axe(page, 'system health');
  await shot(page, 'ja-system');
  // The egress register: a destination requested.
  await page.click('header a[href="/console/egress"]');
  await page.waitForLoadState();
  await page.fill('#destination', 'api.example.co.jp');
  await page.fill('#purpose', '決済代行会社への売上データ送信');
  await page.click('form[action="/console/egress"] button[type=submit]');
  await page.waitForLoadState();
  check((await page.locator('[role=status]').count()) === 1, 'the destination is requested');
  await axe(page, 'egress register');
  await shot(page, 'ja-egress');
  // The refusal itself is logged as a 403 resource; anything else is a problem.
  const other = problems.filter((p) => !/status of 403/.test(p));
  check(other.length === 0, `sysadmin: console errors: ${other.join(' | ')}`);
  await context.close();
}

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    await operatorFlow(browser, 'ja');
    await operatorFlow(browser, 'en');
    await grantFlow(browser);
    await alertFlow(browser);
    await auditorFlow(browser);
    await exportFlow(browser);
    await peopleFlow(browser);
    await reviewFlow(browser);
    await sysadminFlow(browser);
    await idpFlow(browser);
  } finally {
    await browser.close();
  }
  console.log('flows passed');
})().catch((e) => {
  console.error('FAILED: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
