// Accessibility checks of real pages in Debian's headless Chromium.
//
//   node a11y.mjs plan.json        (or the plan on standard input)
//
// The plan walks a browser through the pages like a member would and checks each page it is
// told to: an axe-core scan (WCAG 2.1 A and AA plus best practice) and the house rules axe does
// not know (see README.md). One line per checked page, then a summary:
//
//   ok - <page>
//   not ok - <page>: <rule>: <nodes>
//   N passed, M failed[, K skipped]
//
// Exit status: 0 all passed, 1 a check failed, 2 the plan or the browser could not be used.

import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = '/usr/bin/chromium';
// Offline: no component updates, no sync, no first-run pings. See the shared domain facts.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const COLOUR_RULES = ['color-contrast', 'link-in-text-block'];
// Controls a person operates; each needs an accessible name.
const CONTROLS = 'input:not([type=hidden]), select, textarea, button';
const FIELDS = 'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]):not([type=image]), select, textarea';
const MAX_TABS = 80;

function usage(message) {
  console.error(`a11y.mjs: ${message}`);
  process.exit(2);
}

function readPlan() {
  const source = process.argv[2];
  let text;
  try {
    text = source && source !== '-' ? readFileSync(source, 'utf8') : readFileSync(0, 'utf8');
  } catch (e) {
    usage(`cannot read the plan: ${e.message}`);
  }
  let plan;
  try {
    plan = JSON.parse(text);
  } catch (e) {
    usage(`the plan is not JSON: ${e.message}`);
  }
  if (typeof plan.base_url !== 'string') usage('the plan needs "base_url"');
  if (!Array.isArray(plan.sessions)) usage('the plan needs "sessions": [{ "name", "steps": [...] }]');
  return plan;
}

// --- results -------------------------------------------------------------------------------

const tally = { passed: 0, failed: 0, skipped: 0 };

function short(list, max = 6) {
  const shown = list.slice(0, max).join(', ');
  return list.length > max ? `${shown} (+${list.length - max} more)` : shown;
}

function report(page, problems, notes) {
  for (const note of notes) console.log(`# ${page}: ${note}`);
  if (problems.length === 0) {
    tally.passed += 1;
    console.log(`ok - ${page}`);
    return;
  }
  tally.failed += 1;
  for (const p of problems) {
    console.log(`not ok - ${page}: ${p.rule}: ${p.nodes}`);
    if (p.detail) console.log(`#   ${p.detail.replace(/\s*\n\s*/g, ' | ')}`);
  }
}

// --- steps ---------------------------------------------------------------------------------

function locate(page, spec) {
  if (spec.label !== undefined) return page.getByLabel(spec.label, { exact: true });
  if (spec.name !== undefined) return page.locator(`[name="${spec.name}"]`);
  if (spec.selector !== undefined) return page.locator(spec.selector);
  throw new Error(`a field needs "label", "name" or "selector": ${JSON.stringify(spec)}`);
}

// Runs `action` and waits until the document it leads to has loaded (after any redirects).
async function navigating(page, action) {
  const loaded = page.waitForEvent('load');
  await action();
  try {
    await loaded;
  } catch (e) {
    // The usual cause: the browser's own validation (required, minlength…) stopped the submit,
    // so the server never got to show its error summary.
    const invalid = await page.evaluate(() => [...document.querySelectorAll(':invalid')]
      .filter((el) => el.tagName !== 'FORM' && el.tagName !== 'FIELDSET')
      .map((el) => `${el.name || el.id}: ${el.validationMessage}`)).catch(() => []);
    const why = invalid.length ? `; the browser's validation blocked it: ${invalid.join('; ')} (add novalidate to the form)` : '';
    throw new Error(`the submit loaded no new page${why}: ${e.message.split('\n')[0]}`);
  }
}

// RFC 6238 with the parameters every authenticator app uses: HMAC-SHA1, 30 s, 6 digits.
function totp(base32, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${base32}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function fill(page, specs, state) {
  for (const spec of Array.isArray(specs) ? specs : [specs]) {
    const fields = locate(page, spec);
    const count = await fields.count();
    if (count === 0) throw new Error(`no field matches ${JSON.stringify(spec)}`);
    if (count > 1 && !spec.all) throw new Error(`${count} fields match ${JSON.stringify(spec)}; say "all": true to fill each`);
    // "totp_from": a selector whose text is a TOTP secret, as a member copies it into an app.
    let value = spec.value;
    if (spec.totp_from !== undefined) value = totp(await page.locator(spec.totp_from).innerText());
    for (let i = 0; i < count; i += 1) await fields.nth(i).fill(String(value ?? ''));
    state.lastField = fields.nth(count - 1);
  }
}

async function submit(page, how, state) {
  if (how === 'enter') {
    if (!state.lastField) throw new Error('"submit": "enter" needs a filled field to press Enter in');
    // Implicit submission: Enter in a text field submits its form, no script involved.
    await navigating(page, () => state.lastField.press('Enter'));
  } else if (how && typeof how.button === 'string') {
    const button = page.getByRole('button', { name: how.button, exact: true });
    await navigating(page, () => button.click());
  } else {
    throw new Error(`"submit" is "enter" or { "button": "<accessible name>" }, not ${JSON.stringify(how)}`);
  }
}

// --- checks --------------------------------------------------------------------------------

// Describes an element for a report line: tag#id.class or tag[name=...].
function describeInPage() {
  window.__coopDescribe = (el) => {
    if (!el || el === document.body) return 'body';
    let d = el.tagName.toLowerCase();
    if (el.id) d += `#${el.id}`;
    else if (el.getAttribute('name')) d += `[name=${el.getAttribute('name')}]`;
    else if (el.classList.length) d += `.${[...el.classList].join('.')}`;
    else if (el.getAttribute('href')) d += `[href=${el.getAttribute('href')}]`;
    const text = (el.textContent || '').trim().replace(/\s+/g, ' ');
    if (!el.id && text && !['input', 'select', 'textarea'].includes(d)) d += ` "${text.slice(0, 30)}"`;
    return d;
  };
}

async function ensureDescribe(page) {
  await page.evaluate(`(${describeInPage})()`);
}

// The house rules that read the DOM: language, headings, the error summary.
async function domRules(page, check) {
  return page.evaluate(({ check, FIELDS }) => {
    const d = window.__coopDescribe;
    const problems = [];
    const lang = document.documentElement.getAttribute('lang');
    if (lang !== check.lang) problems.push({ rule: 'html-lang', nodes: `lang="${lang}", expected "${check.lang}"` });
    const h1s = [...document.querySelectorAll('h1')];
    if (h1s.length !== 1) problems.push({ rule: 'one-h1', nodes: `${h1s.length} h1 elements` });
    else if (!h1s[0].textContent.trim()) problems.push({ rule: 'one-h1', nodes: 'the h1 is empty' });
    if (!document.title.trim()) problems.push({ rule: 'title', nodes: 'the page has no title' });

    const summary = document.querySelector('.error-summary');
    if (check.expect_errors) {
      if (!summary) {
        problems.push({ rule: 'error-summary', nodes: 'no .error-summary after a failed submit' });
      } else {
        if (summary.getAttribute('role') !== 'alert') problems.push({ rule: 'error-summary-role', nodes: `role="${summary.getAttribute('role')}", expected "alert"` });
        if (!summary.textContent.trim()) problems.push({ rule: 'error-summary', nodes: 'the summary is empty' });
        const main = document.querySelector('main');
        const form = main && main.querySelector('form');
        if (form && (summary.compareDocumentPosition(form) & Node.DOCUMENT_POSITION_FOLLOWING) === 0) {
          problems.push({ rule: 'error-summary-position', nodes: 'the summary comes after the form' });
        }
        for (const a of summary.querySelectorAll('a')) {
          const href = a.getAttribute('href') || '';
          const id = href.startsWith('#') ? decodeURIComponent(href.slice(1)) : null;
          const field = id ? document.getElementById(id) : null;
          if (!field || !field.matches(FIELDS)) {
            problems.push({ rule: 'error-summary-link', nodes: `${d(a)} -> ${href}: no form field with that id` });
            continue;
          }
          // The field itself says it is wrong, and says why (house style: aria-describedby).
          const described = (field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)
            .map((ref) => document.getElementById(ref)).filter(Boolean);
          if (field.getAttribute('aria-invalid') !== 'true') problems.push({ rule: 'error-field', nodes: `${d(field)} lacks aria-invalid="true"` });
          if (!described.some((el) => el.textContent.trim() === a.textContent.trim())) {
            problems.push({ rule: 'error-field', nodes: `${d(field)} is not described by its error message "${a.textContent.trim()}"` });
          }
        }
        if (check.expect_error_links !== undefined) {
          const got = [...summary.querySelectorAll('a')].map((a) => a.getAttribute('href'));
          const want = check.expect_error_links;
          if (JSON.stringify(got) !== JSON.stringify(want)) problems.push({ rule: 'error-summary-links', nodes: `links ${JSON.stringify(got)}, expected ${JSON.stringify(want)}` });
        }
      }
    } else if (summary) {
      problems.push({ rule: 'error-summary', nodes: `unexpected error summary: "${summary.textContent.trim().replace(/\s+/g, ' ').slice(0, 80)}"` });
    }
    return problems;
  }, { check, FIELDS });
}

// Every control has an accessible name, as Chromium computes it for screen readers.
async function accessibleNames(page) {
  const problems = [];
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: CONTROLS });
    const described = await page.$$eval(CONTROLS, (els) => els.map((el) => window.__coopDescribe(el)));
    for (const [i, nodeId] of nodeIds.entries()) {
      const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
      const node = nodes[0];
      if (!node || node.ignored) continue; // not rendered: nobody can reach it
      const name = String(node.name?.value ?? '').trim();
      if (!name) problems.push(described[i]);
    }
  } finally {
    await cdp.detach();
  }
  return problems.length ? [{ rule: 'control-name', nodes: short(problems) }] : [];
}

// From a freshly loaded page: the first Tab lands on the skip link, whose target exists; Tab
// reaches the form's first field and its submit button; every stop shows where focus is.
async function keyboard(page, check) {
  // A page whose purpose is one field (a till's scan field, where a barcode scanner types)
  // loads with the focus in it; the check is then that it does, not that Tab finds it.
  if (check.expect_focus !== undefined) {
    const ok = await page.evaluate((sel) => {
      const el = document.querySelector(sel);
      return !!el && document.activeElement === el;
    }, check.expect_focus);
    return ok ? [] : [{ rule: 'autofocus', nodes: `the page does not load with the focus on ${check.expect_focus}` }];
  }
  const problems = [];
  const targets = await page.evaluate(({ FIELDS }) => {
    const all = [...document.querySelectorAll('*')];
    const forms = [...document.querySelectorAll('main form')];
    const form = forms.find((f) => f.querySelector(FIELDS)) || forms[0];
    if (!form) return null;
    const field = form.querySelector(FIELDS);
    const submitter = form.querySelector('button:not([type]), button[type=submit], input[type=submit]');
    return {
      field: field ? all.indexOf(field) : -1,
      fieldName: field ? window.__coopDescribe(field) : null,
      submit: submitter ? all.indexOf(submitter) : -1,
      submitName: submitter ? window.__coopDescribe(submitter) : null,
    };
  }, { FIELDS });

  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    const style = el ? getComputedStyle(el) : null;
    const r = el ? el.getBoundingClientRect() : null;
    return {
      index: [...document.querySelectorAll('*')].indexOf(el),
      name: window.__coopDescribe(el),
      isBody: !el || el === document.body || el === document.documentElement,
      outline: style ? style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0 : false,
      onScreen: r ? r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.width > 0 && r.height > 0 : false,
      hash: el && el.tagName === 'A' ? el.getAttribute('href') : null,
    };
  });

  await page.keyboard.press('Tab');
  const first = await focused();
  let skip = null;
  if (first.isBody || !first.hash || !first.hash.startsWith('#') || first.hash.length < 2) {
    problems.push({ rule: 'skip-link', nodes: `the first Tab stop is ${first.name}, not a link to a part of the page` });
  } else {
    skip = first;
    const exists = await page.evaluate((id) => !!document.getElementById(id), decodeURIComponent(first.hash.slice(1)));
    if (!exists) problems.push({ rule: 'skip-link', nodes: `${first.name} points to ${first.hash}, which does not exist` });
    if (!first.onScreen) problems.push({ rule: 'skip-link', nodes: `${first.name} stays off screen when focused` });
  }

  const unmarked = new Set();
  if (!first.isBody && !first.outline) unmarked.add(first.name);
  let reachedField = targets && targets.field < 0;
  let reachedSubmit = targets && targets.submit < 0;
  if (targets && targets.submit < 0) problems.push({ rule: 'keyboard', nodes: 'the form has no submit button' });
  let stop = first;
  for (let i = 1; i < MAX_TABS && targets && !(reachedField && reachedSubmit); i += 1) {
    if (stop.index === targets.field) reachedField = true;
    if (stop.index === targets.submit) reachedSubmit = true;
    if (reachedField && reachedSubmit) break;
    await page.keyboard.press('Tab');
    stop = await focused();
    if (stop.isBody) break; // wrapped past the end of the page
    if (!stop.outline) unmarked.add(stop.name);
  }
  if (targets && !reachedField) problems.push({ rule: 'keyboard', nodes: `Tab from the top never reaches the first field ${targets.fieldName}` });
  if (targets && targets.submit >= 0 && !reachedSubmit) problems.push({ rule: 'keyboard', nodes: `Tab from the top never reaches the submit button ${targets.submitName}` });
  if (unmarked.size) problems.push({ rule: 'focus-visible', nodes: `no focus outline on ${short([...unmarked])}` });

  // Following the skip link moves focus to its target, so the next Tab starts there.
  if (skip && problems.every((p) => p.rule !== 'skip-link')) {
    await page.evaluate((index) => document.querySelectorAll('*')[index].focus(), skip.index);
    await page.keyboard.press('Enter');
    const after = await page.evaluate(() => ({ id: document.activeElement && document.activeElement.id }));
    if (`#${after.id}` !== skip.hash) problems.push({ rule: 'skip-link', nodes: `following ${skip.name} leaves focus on ${after.id ? `#${after.id}` : 'the page'}` });
  }
  return problems;
}

async function axe(page, scheme, label = scheme) {
  const already = await page.evaluate(() => typeof window.axe !== 'undefined');
  // Evaluated over the DevTools protocol rather than added as a <script>: the pages' Content
  // Security Policy rightly refuses inline scripts, and the scan must not switch it off.
  if (!already) await page.evaluate(AXE_SOURCE);
  // The other colour schemes only change colours: scanning them for anything else would only
  // repeat the light scheme's findings.
  const runOnly = scheme === 'light' ? { type: 'tag', values: AXE_TAGS } : { type: 'rule', values: COLOUR_RULES };
  const results = await page.evaluate(
    (runOnly) => window.axe.run(document, { runOnly, resultTypes: ['violations', 'incomplete'] }),
    runOnly,
  );
  const tag = label === 'light' ? '' : ` (${label})`;
  const problems = results.violations.map((v) => ({
    rule: `axe ${v.id}${tag}`,
    nodes: short(v.nodes.map((n) => n.target.join(' '))),
    detail: `${v.help} [${v.impact}] ${v.nodes[0]?.failureSummary ?? ''}`,
  }));
  // Contrast that axe cannot decide counts as a failure: our pages are plain text on plain
  // backgrounds, so an undecided result means a colour comes from somewhere axe cannot see
  // (such as the browser's own dark canvas) and nobody has checked it.
  for (const v of results.incomplete.filter((r) => COLOUR_RULES.includes(r.id))) {
    problems.push({
      rule: `axe ${v.id} undecided${tag}`,
      nodes: short(v.nodes.map((n) => n.target.join(' '))),
      detail: `${v.help}: ${v.nodes[0]?.any[0]?.message ?? ''}`,
    });
  }
  results.incomplete = results.incomplete.filter((r) => !COLOUR_RULES.includes(r.id));
  const why = (n) => [...n.any, ...n.all].map((c) => c.data?.messageKey || c.message).filter(Boolean)[0] || '';
  const notes = results.incomplete.map((v) => {
    const reasons = [...new Set(v.nodes.map(why))].filter(Boolean).join('; ');
    return `axe needs review ${v.id}${tag}: ${short(v.nodes.map((n) => n.target.join(' ')))}${reasons ? ` (${reasons})` : ''}`;
  });
  return { problems, notes };
}

// A page that works on a phone never needs sideways scrolling of the whole page (WCAG 1.4.10);
// a wide table scrolls inside its own .table-wrap instead.
async function overflow(page, viewport) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  return wide > 1 ? [{ rule: `reflow (${viewport.name})`, nodes: `the page is ${wide}px wider than the ${viewport.width}px screen` }] : [];
}

async function checkPage(page, check, ctx) {
  const problems = [];
  const notes = [];
  const url = new URL(page.url());
  if (check.expect_path !== undefined && url.pathname !== check.expect_path) {
    problems.push({ rule: 'path', nodes: `at ${url.pathname}, expected ${check.expect_path}` });
  }
  if (check.expect_status !== undefined && ctx.status !== check.expect_status) {
    problems.push({ rule: 'status', nodes: `HTTP ${ctx.status}, expected ${check.expect_status}` });
  }
  for (const selector of [].concat(check.expect_selector ?? [])) {
    if ((await page.locator(selector).count()) === 0) problems.push({ rule: 'content', nodes: `nothing matches ${selector}` });
  }
  if (ctx.outside.length) problems.push({ rule: 'offline', nodes: `requests leave ${[...ctx.origins].join(', ')}: ${short(ctx.outside)}` });
  if (ctx.broken.length) problems.push({ rule: 'resources', nodes: short(ctx.broken) });
  // Before any script of ours runs: a refused style or resource (CSP) shows up here.
  if (ctx.console.length) problems.push({ rule: 'console', nodes: short(ctx.console, 3) });

  await ensureDescribe(page);
  // Keyboard first: it needs the focus the page loaded with.
  problems.push(...(await keyboard(page, check)));
  problems.push(...(await domRules(page, check)));
  problems.push(...(await accessibleNames(page)));
  // Every viewport (desktop, phone) in every colour scheme: a screenshot and an axe scan each.
  // The first viewport keeps the plain file name; the others add theirs, and dark adds -dark.
  const first = ctx.viewports[0];
  for (const viewport of ctx.viewports) {
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    for (const scheme of ctx.colorSchemes) {
      await page.emulateMedia({ colorScheme: scheme });
      if (check.screenshot && ctx.screenshotDir) {
        const suffix = `${viewport === first ? '' : `-${viewport.name}`}${scheme === 'light' ? '' : `-${scheme}`}`;
        const file = check.screenshot.replace(/(\.png)?$/, `${suffix}.png`);
        await page.screenshot({ path: join(ctx.screenshotDir, file), fullPage: true });
      }
      const r = await axe(page, scheme, viewport === first ? scheme : `${scheme}, ${viewport.name}`);
      problems.push(...r.problems);
      notes.push(...r.notes);
      if (viewport !== first) problems.push(...(await overflow(page, viewport)));
    }
  }
  await page.setViewportSize({ width: first.width, height: first.height });
  await page.emulateMedia({ colorScheme: 'light' });
  // A rule the check allows, with the reason written beside it in the test, is a note, not a
  // failure; an allowance without a reason is itself a failure.
  const allow = check.allow ?? {};
  for (const [rule, why] of Object.entries(allow)) {
    if (typeof why !== 'string' || why.trim() === '') problems.push({ rule: 'allow', nodes: `${rule} is allowed without a reason` });
  }
  const ruleId = (p) => (p.rule.startsWith('axe ') ? p.rule.slice(4).split(' ')[0] : p.rule);
  const kept = problems.filter((p) => {
    const why = allow[ruleId(p)];
    if (p.rule !== 'allow' && typeof why === 'string' && why.trim() !== '') {
      notes.push(`allowed ${p.rule}: ${why}`);
      return false;
    }
    return true;
  });
  return { problems: kept, notes };
}

// --- driver --------------------------------------------------------------------------------

async function runSession(context, plan, session, shared) {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const ctx = { ...shared, status: null, outside: [], broken: [], console: [] };
  page.on('console', (msg) => {
    // A 4xx page (a failed sign-in) logs "Failed to load resource" for itself; the status is
    // checked on its own, and broken subresources by the response listener below.
    if (msg.text().startsWith('Failed to load resource')) return;
    if (msg.type() === 'error' || msg.type() === 'warning') ctx.console.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (e) => ctx.console.push(`error: ${e.message}`));
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (!['data:', 'about:'].includes(u.protocol) && !ctx.origins.has(u.origin)) ctx.outside.push(req.url());
  });
  page.on('response', (res) => {
    const req = res.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) ctx.status = res.status();
    else if (res.status() >= 400) ctx.broken.push(`${res.status()} ${res.url()}`);
  });
  const state = { lastField: null };
  const steps = session.steps || [];
  for (const [i, step] of steps.entries()) {
    try {
      if (step.skip !== undefined) {
        tally.skipped += 1;
        console.log(`ok - ${step.skip} # SKIP ${step.reason || ''}`.trimEnd());
      } else if (step.visit !== undefined) {
        ctx.outside = [];
        ctx.broken = [];
        ctx.console = [];
        const res = await page.goto(new URL(step.visit, plan.base_url).href, { waitUntil: 'load' });
        ctx.status = res ? res.status() : null;
        state.lastField = null;
      } else if (step.fill !== undefined) {
        await fill(page, step.fill, state);
      } else if (step.submit !== undefined) {
        ctx.outside = [];
        ctx.broken = [];
        ctx.console = [];
        await submit(page, step.submit, state);
        state.lastField = null;
      } else if (step.check !== undefined) {
        // A page may navigate by itself while it is checked (a background job's page reloads
        // when the job is done): check the page it lands on, up to three times.
        let result;
        for (let attempt = 1; ; attempt++) {
          try {
            result = await checkPage(page, step, ctx);
            break;
          } catch (e) {
            if (attempt >= 3 || !/Execution context was destroyed|navigation/i.test(e.message)) throw e;
            await page.waitForLoadState('load');
          }
        }
        report(step.check, result.problems, result.notes);
      } else {
        throw new Error(`unknown step ${JSON.stringify(step)}`);
      }
    } catch (e) {
      const left = steps.slice(i).filter((s) => s.check !== undefined).map((s) => s.check);
      tally.failed += Math.max(1, left.length);
      const first = e.message.split('\n')[0];
      console.log(`not ok - ${session.name}: step ${i + 1} ${JSON.stringify(step).slice(0, 120)}: ${first}`);
      if (left.length) console.log(`# not checked because of it: ${left.join('; ')}`);
      break;
    }
  }
  await page.close();
}

async function main() {
  const plan = readPlan();
  // The site's own origin, and those of the plan's other services (one suite signing in
  // through its provider): requests anywhere else fail the `offline` rule.
  const origins = new Set([plan.base_url, ...(plan.origins || [])].map((u) => new URL(u).origin));
  const screenshotDir = plan.screenshot_dir ? resolve(plan.screenshot_dir) : null;
  if (screenshotDir) mkdirSync(screenshotDir, { recursive: true });
  const colorSchemes = plan.color_schemes || ['light'];
  const viewports = plan.viewports || [{ name: 'desktop', width: 1024, height: 768 }];
  const profile = mkdtempSync(join(tmpdir(), 'cooperage-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: viewports[0].width, height: viewports[0].height },
      locale: 'en-GB',
      colorScheme: 'light',
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    usage(`cannot start ${CHROMIUM} (run tests/browser/setup.sh): ${e.message.split('\n')[0]}`);
  }
  try {
    for (const session of plan.sessions) {
      // Each session starts signed out, like a new visitor.
      await context.clearCookies();
      await runSession(context, plan, session, { origins, screenshotDir, colorSchemes, viewports });
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  const skipped = tally.skipped ? `, ${tally.skipped} skipped` : '';
  console.log(`${tally.passed} passed, ${tally.failed} failed${skipped}`);
  process.exit(tally.failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`a11y.mjs: ${e.stack || e}`);
  process.exit(2);
});
