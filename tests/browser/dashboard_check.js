// Drives Debian's headless Chromium (through playwright-core) over a running `dial dashboard`: the study list, a
// study that is still running (its views must redraw as trials report, without a reload), a click into one trial, and
// the pages of a pruned study and a two-objective study. Every plot must have drawn data; no script error, no
// Content-Security-Policy violation, no request to another origin. Screenshots go to OUT_DIR.
// Then the `dial report` files of the pruned and the two-objective study, opened from disk: the same checks, and no
// request may leave the file.
// Usage: node dashboard_check.js BASE_URL OUT_DIR LIVE_STUDY PRUNED_STUDY MO_STUDY [REPORT.html ...]
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const [base, outDir, liveStudy, prunedStudy, moStudy, ...reports] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const MIN_CHARTS = 8;       // history, curves, parallel, slices (≥1), contour, importance, EDF and more
const MIN_MARKS = 3;        // drawn SVG shapes for a chart to count as a plot rather than an empty frame
const REDRAW_WAIT_MS = 30000;

let failures = 0;
function ok(message) { console.log('ok: ' + message); }
function fail(message) { console.log('FAIL: ' + message); failures += 1; }

// Every chart container of the page: drawn (points, marks) or a note or an error.
async function charts(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('#views div.chart')).map((c) => ({
    section: c.closest('section') ? c.closest('section').id : '',
    points: Number(c.getAttribute('data-points') || 0),
    error: c.getAttribute('data-error'),
    note: c.classList.contains('chart-note') ? c.textContent.trim() : null,
    svg: c.querySelector('svg') !== null,
    marks: c.querySelectorAll('svg path, svg rect, svg circle, svg polyline, svg polygon, svg line').length,
  })));
}

async function checkCharts(page, label, allowedNotes) {
  const list = await charts(page);
  const bad = [];
  for (const c of list) {
    if (c.error) bad.push(c.section + ': ' + c.error);
    else if (c.note !== null) { if (!allowedNotes.includes(c.note)) bad.push(c.section + ' shows a note: ' + c.note); }
    else if (c.points <= 0 || !c.svg || c.marks < MIN_MARKS) bad.push(c.section + ' drew nothing (points ' + c.points + ', shapes ' + c.marks + ')');
  }
  if (list.length < MIN_CHARTS) bad.push('only ' + list.length + ' charts');
  if (bad.length) fail(label + ': ' + bad.join('; '));
  else ok(label + ': all ' + list.length + ' charts drew data');
}

async function openStudy(page, name) {
  await page.goto(base + 'study?name=' + encodeURIComponent(name));
  await page.waitForSelector('body[data-report-ready="1"]', { timeout: 30000 });
}

(async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  const foreign = [];
  page.on('pageerror', (e) => errors.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  const origin = new URL(base).origin;
  page.on('request', (r) => { if (new URL(r.url()).origin !== origin) foreign.push(r.url()); });

  try {
    // ---- the study list ----
    await page.goto(base);
    await page.waitForSelector('#study-table tbody tr', { timeout: 20000 });
    const listed = await page.$$eval('#study-table tbody tr', (rows) => rows.map((r) => r.getAttribute('data-study')));
    for (const name of [liveStudy, prunedStudy, moStudy]) {
      if (listed.includes(name)) ok('the study list shows ' + name); else fail('the study list lacks ' + name + ': ' + listed);
    }
    if ((await page.getAttribute('#live', 'data-state')) === 'live') ok('the list is live'); else fail('the list is not live');
    await page.screenshot({ path: path.join(outDir, 'dashboard_studies.png'), fullPage: true });

    // ---- a running study, live ----
    await page.click('#study-table tr[data-study="' + liveStudy + '"] a');
    await page.waitForSelector('body[data-report-ready="1"]', { timeout: 30000 });
    if (new URL(page.url()).searchParams.get('name') === liveStudy) ok('clicking a study opens its page');
    else fail('clicking the study went to ' + page.url());
    await checkCharts(page, liveStudy, []);
    const running = await page.$$('#running-table tbody tr');
    if (running.length > 0) ok(running.length + ' running trial(s) listed with their latest values');
    else fail('no running trial listed while the study runs');
    // A trial that has just started has reported nothing yet; within a few redraws one has.
    const lastValue = await page.waitForFunction(() => {
      const cells = Array.from(document.querySelectorAll('#running-table tbody tr td:nth-child(5)'));
      const shown = cells.map((td) => td.textContent).filter((t) => t !== '');
      return shown.length ? shown[0] : null;
    }, null, { timeout: 15000, polling: 250 }).then((h) => h.jsonValue()).catch(() => '');
    if (lastValue) ok('a running trial shows its last intermediate value (' + lastValue + ')');
    else fail('no running trial showed an intermediate value within 15 s');
    const before = await page.evaluate(() => ({
      redraws: Number(document.body.getAttribute('data-redraws')),
      rows: document.querySelectorAll('#trial-table tbody tr').length,
      finished: document.querySelectorAll('#trial-table tbody tr:not(.state-running)').length,
    }));
    await page.screenshot({ path: path.join(outDir, 'dashboard_live.png'), fullPage: true });
    // Without a reload the page must redraw with more finished trials.
    try {
      await page.waitForFunction((n) => document.querySelectorAll('#trial-table tbody tr:not(.state-running)').length > n,
                                 before.finished, { timeout: REDRAW_WAIT_MS, polling: 250 });
      const after = await page.evaluate(() => Number(document.body.getAttribute('data-redraws')));
      ok('the page redrew by itself (' + before.redraws + ' → ' + after + ' draws) as trials finished');
    } catch (e) {
      fail('no new finished trial appeared within ' + REDRAW_WAIT_MS / 1000 + ' s without a reload');
    }

    // ---- click into a trial ----
    const number = await page.$eval('#trial-table tbody tr.state-complete', (tr) => tr.getAttribute('data-number'));
    await page.click('#trial-table tbody tr[data-number="' + number + '"]');
    await page.waitForSelector('#trial-detail[data-trial="' + number + '"]', { timeout: 10000 });
    await page.waitForSelector('#trial-extra[data-loaded="1"]', { timeout: 10000 });
    const detail = await page.evaluate(() => {
      const panel = document.getElementById('trial-detail');
      const c = panel.querySelector('div.chart');
      return { text: panel.textContent, points: c ? Number(c.getAttribute('data-points')) : 0,
               marks: c ? c.querySelectorAll('svg path').length : 0 };
    });
    if (detail.text.includes('Trial ' + number) && detail.text.includes('COMPLETE') && detail.text.includes('System attributes')) {
      ok('clicking trial ' + number + ' opens its detail with state and attributes');
    } else {
      fail('trial detail: ' + detail.text.slice(0, 300));
    }
    if (detail.points > 0 && detail.marks >= MIN_MARKS) ok('the trial\'s learning curve drew ' + detail.points + ' points');
    else fail('the trial\'s learning curve is empty');
    if (new URL(page.url()).searchParams.get('trial') === number) ok('the open trial is in the URL');
    else fail('the URL does not name the open trial: ' + page.url());
    await page.screenshot({ path: path.join(outDir, 'dashboard_trial.png') });
    await page.click('#trial-detail .close');
    if ((await page.$('#trial-detail')) === null) ok('the detail panel closes'); else fail('the detail panel stays open');

    // ---- a pruned study and a two-objective study ----
    await openStudy(page, prunedStudy);
    await checkCharts(page, prunedStudy, []);
    const pruned = await page.$$('#trial-table tbody tr.state-pruned');
    if (pruned.length > 0) ok(pruned.length + ' pruned trial(s) in the table'); else fail('no pruned trial shown');
    await page.screenshot({ path: path.join(outDir, 'dashboard_pruned.png'), fullPage: true });
    await openStudy(page, moStudy);
    await checkCharts(page, moStudy, ['No trial reported intermediate values.']);
    if ((await page.$$('#pareto div.chart[data-points]')).length > 0) ok('the Pareto front is drawn'); else fail('no Pareto chart');
    await page.screenshot({ path: path.join(outDir, 'dashboard_pareto.png'), fullPage: true });
  } catch (e) {
    fail('browser session: ' + e.message);
    await page.screenshot({ path: path.join(outDir, 'dashboard_failure.png'), fullPage: true }).catch(() => {});
  }
  if (errors.length) fail('script errors: ' + errors.join(' | ')); else ok('no script error or CSP violation');
  if (foreign.length) fail('requests to other origins: ' + foreign.join(', ')); else ok('every request went to the dashboard');

  // ---- the self-contained report files ----
  for (const file of reports) {
    const report = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const reportErrors = [];
    const network = [];
    report.on('pageerror', (e) => reportErrors.push(e.message));
    report.on('console', (m) => { if (m.type() === 'error') reportErrors.push(m.text()); });
    report.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) network.push(r.url()); });
    const label = path.basename(file);
    try {
      await report.goto('file://' + path.resolve(file));
      await report.waitForSelector('body[data-report-ready="1"]', { timeout: 30000 });
      const mo = (await report.$$('#pareto div.chart')).length > 0;
      await checkCharts(report, label, mo ? ['No trial reported intermediate values.'] : []);
      const row = await report.$('#trial-table tbody tr.state-pruned, #trial-table tbody tr.state-complete');
      const number = await row.getAttribute('data-number');
      await row.click();
      await report.waitForSelector('#trial-detail[data-trial="' + number + '"]', { timeout: 10000 });
      ok(label + ': clicking trial ' + number + ' opens its panel');
      await report.screenshot({ path: path.join(outDir, label.replace(/\.html$/, '.png')), fullPage: true });
    } catch (e) {
      fail(label + ': ' + e.message);
    }
    if (reportErrors.length) fail(label + ': script errors: ' + reportErrors.join(' | '));
    if (network.length) fail(label + ': the report fetched ' + network.join(', ')); else ok(label + ': nothing fetched');
    await report.close();
  }
  await browser.close();
  console.log(failures ? failures + ' browser check(s) failed' : 'browser checks passed');
  process.exit(failures ? 1 : 0);
})().catch((e) => { console.log('FAIL: ' + e.stack); process.exit(1); });
