// Browser-less login driver (JS twin of login_driver.py; keep the two in step).
//
// From an authorization URL, follow redirects with a cookie jar; on each HTML page with a
// form, fill the input named email/login/username with the user and the password input with
// the password, keep hidden inputs (csrf_token, ...), include the first submit button's
// name/value, and submit it (method and action from the form, resolved against the page URL).
// A form without a password field (consent/confirm page) is submitted as is. A page with no
// form but a link to the redirect URI (a "continue" page) follows that link. Stops when sent
// to a URL that starts with redirectUri and returns that URL. Bounded in steps and time.

const USER_FIELDS = new Set(['email', 'login', 'username']);

export class CookieJar {
  #cookies = []; // {name, value, host, domain, path, expires}

  store(url, setCookieHeaders) {
    const u = new URL(url);
    for (const header of setCookieHeaders) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const c = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), host: u.hostname, domain: null, path: '/', expires: Infinity };
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=').map((x) => x.trim());
        const key = k.toLowerCase();
        if (key === 'domain' && v) c.domain = v.replace(/^\./, '').toLowerCase();
        else if (key === 'path' && v.startsWith('/')) c.path = v;
        else if (key === 'max-age') c.expires = Date.now() + Number(v) * 1000;
        else if (key === 'expires' && c.expires === Infinity) c.expires = Date.parse(v) || Infinity;
      }
      // Secure is ignored on purpose: this driver only ever talks to loopback, where browsers
      // treat http as a secure context.
      this.#cookies = this.#cookies.filter((o) => !(o.name === c.name && o.host === c.host && o.path === c.path));
      if (c.expires > Date.now()) this.#cookies.push(c);
    }
  }

  header(url) {
    const u = new URL(url);
    const now = Date.now();
    return this.#cookies
      .filter((c) => c.expires > now
        && (c.domain ? u.hostname === c.domain || u.hostname.endsWith(`.${c.domain}`) : u.hostname === c.host)
        && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

const decode = (s) => s
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
  .replace(/&(quot|apos|lt|gt|amp);/g, (_, n) => ({ quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' })[n]);

function attrs(tagBody) {
  const out = {};
  for (const m of tagBody.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    out[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** Forms on a page: [{method, action, inputs: [attrs], buttons: [attrs]}] (no textarea/select). */
export function parseForms(html) {
  const forms = [];
  let current = null;
  for (const m of html.matchAll(/<(\/?)(form|input|button)\b([^>]*)>/gi)) {
    const [, closing, tag, body] = m;
    const name = tag.toLowerCase();
    if (name === 'form') {
      if (closing) current = null;
      else forms.push(current = { ...attrs(body), inputs: [], buttons: [] });
    } else if (current && !closing) {
      const a = attrs(body);
      const type = (a.type || (name === 'button' ? 'submit' : 'text')).toLowerCase();
      if (type === 'submit' || type === 'image') current.buttons.push(a);
      else if (name === 'input') current.inputs.push({ ...a, type });
    }
  }
  return forms;
}

function fillForm(form, user, password) {
  const fields = new URLSearchParams();
  for (const input of form.inputs) {
    if (!input.name || input.disabled !== undefined) continue;
    if (input.type === 'password') fields.append(input.name, password);
    else if (USER_FIELDS.has(input.name.toLowerCase())) fields.append(input.name, user);
    else if ((input.type === 'checkbox' || input.type === 'radio') && input.checked === undefined) continue;
    else fields.append(input.name, input.value ?? '');
  }
  const button = form.buttons[0];
  if (button?.name) fields.append(button.name, button.value ?? '');
  return fields;
}

/**
 * @returns {Promise<string>} the URL (starting with redirectUri) the provider sent the browser to
 */
export async function driveLogin({ startUrl, redirectUri, user, password, jar = new CookieJar(), maxSteps = 25, timeoutMs = 30000, log = () => {} }) {
  const deadline = Date.now() + timeoutMs;
  let url = startUrl;
  let method = 'GET';
  let body;
  let passwordForms = 0;
  for (let step = 0; step < maxSteps; step += 1) {
    if (url.startsWith(redirectUri)) return url;
    if (Date.now() > deadline) break;
    log(`${method} ${url}`);
    const headers = { accept: 'text/html,application/xhtml+xml' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
    jar.store(url, res.headers.getSetCookie());
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url).href;
      // 307/308 keep method and body; everything else becomes a GET.
      if (res.status !== 307 && res.status !== 308) { method = 'GET'; body = undefined; }
      url = next;
      await res.arrayBuffer().catch(() => {});
      continue;
    }
    const html = await res.text();
    if (res.status >= 400) throw new Error(`HTTP ${res.status} at ${url}: ${html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)}`);
    const forms = parseForms(html);
    const form = forms.find((f) => f.inputs.some((i) => i.type === 'password')) || forms[0];
    if (!form) {
      const link = [...html.matchAll(/<a\b([^>]*)>/gi)].map((m) => attrs(m[1]).href).filter(Boolean)
        .map((href) => new URL(href, url).href).find((href) => href.startsWith(redirectUri));
      if (link) return link;
      throw new Error(`no form and no redirect at ${url} (HTTP ${res.status}): ${html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)}`);
    }
    if (form.inputs.some((i) => i.type === 'password') && (passwordForms += 1) > 1) {
      throw new Error(`login form shown again at ${url}: credentials rejected?`);
    }
    const fields = fillForm(form, user, password);
    const target = new URL(form.action || url, url);
    if ((form.method || 'get').toLowerCase() === 'post') {
      method = 'POST';
      body = fields.toString();
    } else {
      method = 'GET';
      body = undefined;
      target.search = fields.toString();
    }
    url = target.href;
  }
  throw new Error(`login did not reach ${redirectUri} within ${maxSteps} steps / ${timeoutMs} ms (last URL ${url})`);
}
