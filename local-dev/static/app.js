/* mem0 — shared helpers for the static pages (signup, login, dashboard).
 *
 * Exposes a single global, `Mem0`. No dependencies, no build step.
 * Rule of the house: user-provided text only ever reaches the page through
 * textContent / DOM APIs (see `el`), never through innerHTML.
 */
(function () {
  'use strict';

  var KEYS = Object.freeze({ token: 'mem0_token', user: 'mem0_user', refresh: 'mem0_refresh_token' });

  /* ---------- storage ---------- */

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); return true; } catch (e) { return false; }
  }

  function storageRemove(key) {
    try { window.localStorage.removeItem(key); } catch (e) { /* storage unavailable */ }
  }

  function getToken() {
    return storageGet(KEYS.token);
  }

  function getUser() {
    var raw = storageGet(KEYS.user);
    if (!raw) return null;
    try {
      var user = JSON.parse(raw);
      return user && typeof user === 'object' ? user : null;
    } catch (e) {
      return null;
    }
  }

  function getRefreshToken() {
    return storageGet(KEYS.refresh);
  }

  /**
   * Stores a login/signup answer exactly as the seed guide says: mem0_token is
   * user.jwt_token and mem0_user is the JSON of the whole user (token included); the
   * answer's refresh_token, when there is one, goes to mem0_refresh_token.
   * Returns false if there is no token or storage refused it.
   */
  function saveSession(body) {
    var user = body && body.user;
    if (!user || typeof user.jwt_token !== 'string' || !user.jwt_token) return false;
    if (!storageSet(KEYS.token, user.jwt_token)) return false;
    if (typeof body.refresh_token === 'string' && body.refresh_token) {
      if (!storageSet(KEYS.refresh, body.refresh_token)) return false;
    } else {
      storageRemove(KEYS.refresh);
    }
    return storageSet(KEYS.user, JSON.stringify(user));
  }

  /** Refreshes mem0_user from a profile (GET /auth/me has no jwt_token: keep the stored one). */
  function saveProfile(profile) {
    var user = {};
    Object.keys(profile || {}).forEach(function (k) { user[k] = profile[k]; });
    var token = getToken();
    if (token) user.jwt_token = token;
    storageSet(KEYS.user, JSON.stringify(user));
  }

  function clearSession() {
    storageRemove(KEYS.token);
    storageRemove(KEYS.refresh);
    storageRemove(KEYS.user);
  }

  /* ---------- JWT ---------- */

  /** Decodes a JWT payload (base64url JSON). Returns null when malformed. No verification. */
  function decodeJwt(token) {
    if (typeof token !== 'string') return null;
    var parts = token.split('.');
    if (parts.length !== 3 || !parts[1]) return null;
    try {
      var b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
      b64 += '='.repeat((4 - (b64.length % 4)) % 4);
      var binary = window.atob(b64);
      var bytes = new Uint8Array(binary.length);
      for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      var payload = JSON.parse(new TextDecoder().decode(bytes));
      return payload && typeof payload === 'object' ? payload : null;
    } catch (e) {
      return null;
    }
  }

  /** Expiry of a token as a Date, or null when unknown. `exp` is in seconds. */
  function tokenExpiry(token) {
    var payload = decodeJwt(token);
    if (!payload || typeof payload.exp !== 'number') return null;
    return new Date(payload.exp * 1000);
  }

  /** True when the token decodes and its `exp` is still in the future. */
  function tokenIsLive(token) {
    var exp = tokenExpiry(token);
    return !!exp && exp.getTime() > Date.now();
  }

  /**
   * True once 80% of the token's lifetime (exp - iat) has passed: renewing then leaves
   * a fifth of it for a slow network. Without iat, only once it has expired.
   */
  function tokenRefreshDue(token) {
    var payload = decodeJwt(token);
    if (!payload || typeof payload.exp !== 'number') return false;
    var exp = payload.exp * 1000;
    if (typeof payload.iat !== 'number') return Date.now() >= exp;
    var iat = payload.iat * 1000;
    return Date.now() - iat >= 0.8 * (exp - iat);
  }

  /** Milliseconds until tokenRefreshDue turns true (0 if it is), or null when it never will. */
  function msUntilRefresh(token) {
    var payload = decodeJwt(token);
    if (!payload || typeof payload.exp !== 'number') return null;
    var exp = payload.exp * 1000;
    var at = typeof payload.iat === 'number' ? payload.iat * 1000 + 0.8 * (exp - payload.iat * 1000) : exp;
    return Math.max(0, at - Date.now());
  }

  /* ---------- session renewal ---------- */

  var refreshing = null;

  /**
   * Trades the refresh token for new tokens, one refresh at a time: callers on this page
   * share the one under way, and other tabs wait for it too where the browser has Web
   * Locks (the refresh token rotates; presenting a spent one ends the session). `stale`
   * is the access token the caller holds: if another tab has already replaced it, that
   * replacement is used without a request. Resolves to {token} (the access token to use
   * now), {ended: true} when the server refused the refresh token, or {failed: result}
   * when the server could not be asked.
   */
  function refreshSession(stale) {
    if (refreshing) return refreshing;
    var run = function () {
      var current = getToken();
      if (current && current !== stale && tokenIsLive(current)) return { token: current };
      var refresh = getRefreshToken();
      if (!refresh) return { ended: true };
      return api('/auth/refresh', { method: 'POST', body: { refresh_token: refresh } }).then(function (result) {
        var body = result.body || {};
        if (result.ok && typeof body.jwt_token === 'string' && typeof body.refresh_token === 'string') {
          storageSet(KEYS.refresh, body.refresh_token);
          storageSet(KEYS.token, body.jwt_token);
          var user = getUser();
          if (user) {
            user.jwt_token = body.jwt_token;
            storageSet(KEYS.user, JSON.stringify(user));
          }
          return { token: body.jwt_token };
        }
        if (result.status === 401) return { ended: true };
        return { failed: result };
      });
    };
    var locks = navigator.locks && typeof navigator.locks.request === 'function' ? navigator.locks : null;
    var flight = locks ? locks.request('mem0-refresh', run) : Promise.resolve().then(run);
    refreshing = flight.then(function (outcome) {
      refreshing = null;
      return outcome;
    }, function () {
      refreshing = null;
      return { failed: null };
    });
    return refreshing;
  }

  /* ---------- HTTP ---------- */

  /**
   * fetch wrapper. Resolves (never rejects) to
   *   { ok, status, headers, body }
   * where body is the parsed JSON, or a synthesized error body
   * `{success:false, error, message}` when the response was not JSON or the
   * network failed (status 0).
   */
  function api(path, options) {
    var opts = options || {};
    var headers = { Accept: 'application/json' };
    var init = { method: opts.method || 'GET', headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    if (opts.token) headers.Authorization = 'Bearer ' + opts.token;

    return window.fetch(path, init).then(function (res) {
      return res.text().catch(function () { return ''; }).then(function (text) {
        var data = null;
        if (text) {
          try { data = JSON.parse(text); } catch (e) { data = null; }
        }
        if (!data || typeof data !== 'object') {
          data = res.ok ? {} : {
            success: false,
            error: 'http_' + res.status,
            message: 'The server sent an unexpected response (HTTP ' + res.status + '). Please try again.'
          };
        }
        return { ok: res.ok, status: res.status, headers: res.headers, body: data };
      });
    }, function () {
      return {
        ok: false,
        status: 0,
        headers: new Headers(),
        body: {
          success: false,
          error: 'network_error',
          message: 'Could not reach the server. Check your connection and try again.'
        }
      };
    });
  }

  /** Human message for a failed api() result. */
  function errorMessage(result, fallback) {
    var body = result && result.body;
    if (body && typeof body.message === 'string' && body.message) return body.message;
    return fallback || 'Something went wrong (HTTP ' + (result ? result.status : '?') + '). Please try again.';
  }

  /** Seconds from a Retry-After header (seconds or HTTP date), or null. */
  function retryAfterSeconds(headers) {
    var raw = headers && headers.get ? headers.get('Retry-After') : null;
    if (!raw) return null;
    var seconds = /^\s*\d+\s*$/.test(raw)
      ? parseInt(raw, 10)
      : Math.ceil((Date.parse(raw) - Date.now()) / 1000);
    return isFinite(seconds) ? Math.max(seconds, 0) : null;
  }

  /** "Try again in 30 seconds." / "Try again in 15 minutes." / "Try again in a moment." */
  function retryText(seconds) {
    if (seconds === null || seconds <= 0) return 'Try again in a moment.';
    if (seconds < 90) return 'Try again in ' + seconds + (seconds === 1 ? ' second.' : ' seconds.');
    return 'Try again in ' + Math.ceil(seconds / 60) + ' minutes.';
  }

  /** A 429's sentence: what happened (ours) and when to retry (from Retry-After). */
  function rateLimitMessage(result, what) {
    var seconds = retryAfterSeconds(result.headers);
    if (seconds === null) return errorMessage(result, what);
    return what + ' ' + retryText(seconds);
  }

  /* ---------- DOM ---------- */

  /**
   * Creates an element. props: class, text, dataset, on<event> handlers,
   * anything else becomes an attribute. Children: nodes or strings (text).
   */
  function el(tag, props) {
    var node = document.createElement(tag);
    var p = props || {};
    Object.keys(p).forEach(function (key) {
      var value = p[key];
      if (value === null || value === undefined || value === false) return;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = String(value);
      else if (key === 'dataset') Object.keys(value).forEach(function (k) { node.dataset[k] = String(value[k]); });
      else if (key.slice(0, 2) === 'on' && typeof value === 'function') node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    });
    for (var i = 2; i < arguments.length; i++) appendChild(node, arguments[i]);
    return node;
  }

  function appendChild(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { appendChild(parent, c); }); return; }
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /** Shows a message (string or nodes) in a status/alert element; empty hides it. */
  function showMessage(target, content, kind) {
    if (!target) return;
    clear(target);
    target.classList.remove('is-error', 'is-success', 'is-info');
    var empty = content === null || content === undefined || content === '';
    if (!empty) {
      appendChild(target, content);
      target.classList.add('is-' + (kind || 'error'));
    }
    target.hidden = empty;
  }

  /** Inline error (text or nodes) under a field: element `#<id>-error`, plus aria-invalid. */
  function setFieldError(input, message) {
    if (!input) return;
    var box = document.getElementById(input.id + '-error');
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    if (box) {
      clear(box);
      appendChild(box, message || null);
      box.hidden = !message;
    }
  }

  function clearFieldErrors(form) {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.id) setFieldError(field, '');
    });
  }

  /* ---------- validation (mirrors the server's parsing) ---------- */

  var EMAIL_MAX = 254;

  /**
   * The server's Email::parse, as a sentence for the person, or '' when it would pass:
   * trimmed and lower-cased, one '@', a local part of 1-64 characters without spaces,
   * a domain of letters, digits, '-' and '.' with at least one inner dot.
   */
  function emailProblem(raw) {
    var email = String(raw || '').trim().toLowerCase();
    var invalid = 'Enter a valid email address, like name@example.com.';
    if (!email) return 'Enter your email address.';
    if (new TextEncoder().encode(email).length > EMAIL_MAX) return invalid;
    var at = email.lastIndexOf('@');
    if (at < 0) return invalid;
    var local = email.slice(0, at);
    var domain = email.slice(at + 1);
    var localOk = local.length > 0 && new TextEncoder().encode(local).length <= 64 &&
      local.indexOf('@') < 0 && !/[\s\u0000-\u001f\u007f]/.test(local);
    var domainOk = domain.indexOf('.') > 0 && domain.charAt(domain.length - 1) !== '.' &&
      domain.indexOf('..') < 0 && /^[\p{L}\p{N}.-]+$/u.test(domain);
    return localOk && domainOk ? '' : invalid;
  }

  /** The local part the server refuses inside a password (lower-cased, before the '@'). */
  function emailLocalPart(raw) {
    var email = String(raw || '').trim().toLowerCase();
    return email.split('@')[0];
  }

  /**
   * Why a field's value would be refused, or ''. Uses the browser's constraint checks,
   * the field's data-rule ("email"), then the page's own check for that field id, if
   * any (`checks`: id -> function(field) returning a sentence or '').
   * data-missing-message / data-invalid-message replace the browser's wording.
   */
  function fieldProblem(field, checks) {
    if (!field.willValidate) return '';
    if (field.validity.valueMissing || (field.required && !field.value.trim())) {
      return field.dataset.missingMessage || field.validationMessage || 'Fill in this field.';
    }
    if (field.dataset.rule === 'email') {
      var emailIssue = emailProblem(field.value);
      if (emailIssue) return emailIssue;
    } else if (!field.checkValidity()) {
      return field.dataset.invalidMessage || field.validationMessage;
    }
    var own = checks && checks[field.id];
    return own ? own(field) : '';
  }

  /** Checks every field, shows the problems inline and focuses the first. True when valid. */
  function validateForm(form, checks) {
    var first = null;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.id || !field.willValidate) return;
      var problem = fieldProblem(field, checks);
      setFieldError(field, problem);
      if (problem && !first) first = field;
    });
    if (first) first.focus();
    return !first;
  }

  /**
   * Live feedback: a field's error clears as soon as it is edited, and a field that
   * was filled in is checked when focus leaves it (empty fields are left alone until
   * submit, so tabbing through the form does not nag).
   */
  function liveValidation(form, checks) {
    form.addEventListener('input', function (event) {
      var t = event.target;
      if (t && t.id && t.getAttribute('aria-invalid') === 'true') setFieldError(t, '');
    });
    form.addEventListener('focusout', function (event) {
      var t = event.target;
      if (!t || !t.id || !t.willValidate || !t.value || t.type === 'radio' || t.type === 'checkbox') return;
      // A shown error (maybe the server's, maybe with a link in it) stays until the field is edited.
      if (t.getAttribute('aria-invalid') === 'true') return;
      // Going to the submit button: submitting checks everything, and an error appearing
      // now would move the button away from under the pointer.
      var next = event.relatedTarget;
      if (next && next.type === 'submit' && next.form === form) return;
      setFieldError(t, fieldProblem(t, checks));
    });
  }

  /** Disables a form's submit button while a request runs. */
  function setBusy(form, busy, busyLabel) {
    var button = form.querySelector('[type="submit"]');
    form.setAttribute('aria-busy', busy ? 'true' : 'false');
    if (!button) return;
    if (busy) {
      button.dataset.label = button.textContent;
      if (busyLabel) button.textContent = busyLabel;
    } else if (button.dataset.label) {
      button.textContent = button.dataset.label;
    }
    button.disabled = !!busy;
  }

  /** Wires a "show password" checkbox to a password input. */
  function bindShowPassword(checkbox, input) {
    if (!checkbox || !input) return;
    checkbox.addEventListener('change', function () {
      input.type = checkbox.checked ? 'text' : 'password';
    });
  }

  /* ---------- formatting ---------- */

  var dateFormat = (function () {
    try { return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }); }
    catch (e) { return null; }
  })();

  function formatDate(value) {
    var d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) return String(value || '');
    return dateFormat ? dateFormat.format(d) : d.toLocaleString();
  }

  /** "23 h 05 min 09 s" / "4 min 09 s" / "9 s" for a duration in milliseconds. */
  function formatCountdown(ms) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var sec = total % 60;
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    if (h) return h + ' h ' + pad(m) + ' min ' + pad(sec) + ' s';
    if (m) return m + ' min ' + pad(sec) + ' s';
    return sec + ' s';
  }

  function accountTypeLabel(type) {
    var labels = { individual: 'Individual', organization_admin: 'Organization admin', organization_member: 'Organization member' };
    if (labels[type]) return labels[type];
    var s = String(type || 'unknown').replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  /* ---------- clipboard ---------- */

  function legacyCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.top = '-1000px';
    area.style.opacity = '0';
    document.body.appendChild(area);
    var active = document.activeElement;
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    if (active && typeof active.focus === 'function') active.focus();
    return ok;
  }

  /** Copies text; resolves true on success, false if neither API worked. */
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return legacyCopy(text); }
      );
    }
    return Promise.resolve(legacyCopy(text));
  }

  /** Selects the text of an element so the user can copy it by hand. */
  function selectContents(node) {
    var selection = window.getSelection && window.getSelection();
    if (!selection) return;
    var range = document.createRange();
    range.selectNodeContents(node);
    selection.removeAllRanges();
    selection.addRange(range);
  }

  window.Mem0 = Object.freeze({
    KEYS: KEYS,
    getToken: getToken,
    getRefreshToken: getRefreshToken,
    refreshSession: refreshSession,
    tokenRefreshDue: tokenRefreshDue,
    msUntilRefresh: msUntilRefresh,
    getUser: getUser,
    saveProfile: saveProfile,
    saveSession: saveSession,
    clearSession: clearSession,
    decodeJwt: decodeJwt,
    tokenExpiry: tokenExpiry,
    tokenIsLive: tokenIsLive,
    api: api,
    errorMessage: errorMessage,
    rateLimitMessage: rateLimitMessage,
    el: el,
    clear: clear,
    showMessage: showMessage,
    setFieldError: setFieldError,
    clearFieldErrors: clearFieldErrors,
    validateForm: validateForm,
    liveValidation: liveValidation,
    emailLocalPart: emailLocalPart,
    setBusy: setBusy,
    bindShowPassword: bindShowPassword,
    formatDate: formatDate,
    formatCountdown: formatCountdown,
    accountTypeLabel: accountTypeLabel,
    copyText: copyText,
    selectContents: selectContents
  });
})();
