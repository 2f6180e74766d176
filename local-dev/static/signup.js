/* Signup page (/). Depends on /static/app.js (window.Mem0). */
(function () {
  'use strict';

  var M = window.Mem0;
  var $ = function (id) { return document.getElementById(id); };
  var form = $('signup-form');
  var orgFields = $('org-fields');
  var nameInput = $('name');
  var emailInput = $('email');
  var passwordInput = $('password');
  var strengthBox = $('password-strength');
  var strengthText = $('password-strength-text');
  var formError = $('form-error');

  /* ---------- password policy ---------- */

  // The server's rules (shared/api/src/password.rs), which the page enforces exactly.
  var MIN_CHARS = 12;
  var MAX_CHARS = 128;

  /**
   * The part of the policy that can be mirrored exactly: length in characters (code
   * points, as the server counts) and the email's local part. Returns the server's
   * sentence, or ''.
   */
  function passwordRuleProblem(password, email) {
    var chars = Array.from(password).length;
    if (chars < MIN_CHARS) return 'Use at least 12 characters; a few unrelated words make a good password.';
    if (chars > MAX_CHARS) return 'Use at most 128 characters.';
    var local = M.emailLocalPart(email);
    if (Array.from(local).length >= 3 && password.toLowerCase().indexOf(local) >= 0) {
      return "Don't build the password from your email address.";
    }
    return '';
  }

  // The server also refuses guessable passwords (zxcvbn score < 3, about 10^8 guesses).
  // The page only estimates that, to hint early; the server's answer is final.
  var COMMON_WORDS = ['password', 'passwort', 'qwerty', 'letmein', 'welcome', 'admin', 'login', 'iloveyou',
    'monkey', 'dragon', 'master', 'sunshine', 'princess', 'football', 'baseball', 'shadow', 'superman',
    'trustno', 'secret', 'hello', 'freedom', 'whatever', 'starwars', 'changeme', 'default', 'mem0'];
  var RUNS = ['abcdefghijklmnopqrstuvwxyz', '01234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'qwertzuiop',
    'azertyuiop', 'qazwsxedcrfvtgbyhnujmikolp', '1q2w3e4r5t6y7u8i9o0p'];
  var LEET = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's' };

  function unleet(s) {
    return s.replace(/[013457@$]/g, function (c) { return LEET[c]; });
  }

  /** Length of the sequence (abc, 4321, qwerty...) starting at chars[i], in one direction of one row. */
  function runLength(chars, i) {
    var best = 1;
    RUNS.forEach(function (row) {
      [1, -1].forEach(function (step) {
        var n = 1;
        while (i + n < chars.length) {
          var at = row.indexOf(chars[i + n - 1]);
          if (at < 0 || row.charAt(at + step) !== chars[i + n]) break;
          n++;
        }
        best = Math.max(best, n);
      });
    });
    return best;
  }

  /**
   * Rough log10 of the guesses needed, and the weakest pattern found: like zxcvbn,
   * known patterns cost a few guesses each and every other character counts as 10.
   */
  function estimateStrength(password, words) {
    // UTF-16 units throughout: a rough estimate needs no exact character count.
    var chars = password.toLowerCase().split('');
    var plain = unleet(chars.join(''));
    var covered = new Array(chars.length).fill(false);
    var log10 = 0;
    var reason = '';

    /** Charges `cost` for a weak pattern, once, if it covers characters not yet counted. */
    function cover(start, length, cost, why) {
      var fresh = false;
      for (var i = start; i < start + length; i++) {
        fresh = fresh || !covered[i];
        covered[i] = true;
      }
      if (!fresh) return;
      log10 += cost;
      reason = reason || why;
    }

    // A chunk typed again ("bananabanana") adds next to nothing.
    var repeats = /(.{3,}?)\1+/g;
    var repeatMatch;
    while ((repeatMatch = repeats.exec(plain)) !== null) {
      var chunk = repeatMatch[1].length;
      cover(repeatMatch.index + chunk, repeatMatch[0].length - chunk, 0.5, 'Repeated words are easy to guess.');
    }
    words.map(unleet).forEach(function (word) {
      if (word.length < 3) return;
      for (var at = plain.indexOf(word); at >= 0; at = plain.indexOf(word, at + 1)) {
        cover(at, word.length, 2, 'Common words and names are easy to guess.');
      }
    });
    var yearMatch;
    var years = /(19|20)\d\d/g;
    while ((yearMatch = years.exec(chars.join(''))) !== null) {
      cover(yearMatch.index, 4, 2, 'Years and dates are easy to guess.');
    }
    for (var i = 0; i < chars.length;) {
      var same = i + 1;
      while (same < chars.length && chars[same] === chars[i]) same++;
      var run = runLength(chars, i);
      if (same - i >= 3) {
        cover(i, same - i, 1, 'Repeated characters are easy to guess.');
        i = same;
      } else if (run >= 3) {
        cover(i, run, 1.5, 'Sequences like abcd, 1234 or qwerty are easy to guess.');
        i += run;
      } else {
        i++;
      }
    }
    log10 += covered.filter(function (done) { return !done; }).length;
    return { log10: log10, reason: reason };
  }

  var LEVELS = [
    '',
    'Weak — the server will most likely refuse it.',
    'Fair — it may be refused; a longer passphrase is safer.',
    'Good.',
    'Strong.'
  ];

  /** { level: 0–4, text } for the strength hint under the password. */
  function assessPassword(password, email, name) {
    if (!password) return { level: 0, text: '' };
    var chars = Array.from(password).length;
    if (chars < MIN_CHARS) return { level: 1, text: chars + ' of at least ' + MIN_CHARS + ' characters.' };
    if (chars > MAX_CHARS) return { level: 1, text: chars + ' characters; at most ' + MAX_CHARS + ' are allowed.' };
    if (passwordRuleProblem(password, email)) return { level: 1, text: 'It contains your email address, which the server refuses.' };
    var words = COMMON_WORDS.concat(name.toLowerCase().split(/\s+/));
    var estimate = estimateStrength(password, words);
    var level = estimate.log10 < 6 ? 1 : estimate.log10 < 8 ? 2 : estimate.log10 < 10 ? 3 : 4;
    var text = LEVELS[level];
    if (level <= 2 && estimate.reason) text += ' ' + estimate.reason;
    return { level: level, text: text };
  }

  function updateStrength() {
    var result = assessPassword(passwordInput.value, emailInput.value, nameInput.value);
    strengthBox.dataset.level = String(result.level);
    // Only changed text is announced, so typing does not repeat the same sentence.
    if (strengthText.textContent !== result.text) strengthText.textContent = result.text;
  }

  /* ---------- form ---------- */

  function isOrganization() {
    return $('account-organization').checked;
  }

  function syncAccountType() {
    var org = isOrganization();
    orgFields.hidden = !org;
    orgFields.disabled = !org; // disabled fields are skipped by validation
  }

  function value(id) {
    return $(id).value.trim();
  }

  /** Adds key to obj only when the value is non-empty. */
  function putOptional(obj, key, val) {
    if (val) obj[key] = val;
  }

  function buildRequest() {
    var user = { email: value('email'), password: passwordInput.value, name: value('name') };
    if (!isOrganization()) return { path: '/auth/signup/individual', body: user };
    var organization = { name: value('org-name') };
    putOptional(organization, 'domain', value('org-domain'));
    putOptional(organization, 'size', $('org-size').value);
    putOptional(organization, 'industry', value('org-industry'));
    return { path: '/auth/signup/organization', body: { user: user, organization: organization } };
  }

  var checks = {
    password: function () { return passwordRuleProblem(passwordInput.value, emailInput.value); }
  };

  /** The field a server refusal is about, from its code and sentence; null for the form. */
  function fieldFor(body) {
    var message = String(body.message || '');
    if (body.error === 'weak_password') return passwordInput;
    if (body.error === 'email_taken') return emailInput;
    if (body.error !== 'invalid_request') return null;
    if (/organization name/i.test(message)) return $('org-name');
    if (/organization domain/i.test(message)) return $('org-domain');
    if (/organization size/i.test(message)) return $('org-size');
    if (/organization industry/i.test(message)) return $('org-industry');
    if (/e-?mail/i.test(message)) return emailInput;
    if (/\bname\b/i.test(message)) return nameInput;
    if (/password/i.test(message)) return passwordInput;
    return null;
  }

  function emailTakenMessage(result, email) {
    var link = M.el('a', { href: '/login?email=' + encodeURIComponent(email), id: 'email-taken-login' }, 'Log in with this email');
    return [M.errorMessage(result, 'This email already has an account.') + ' ', link];
  }

  function showError(result, email) {
    var body = result.body || {};
    if (result.status === 429) {
      M.showMessage(formError, M.rateLimitMessage(result, 'Too many signups from this network.'));
      return;
    }
    var field = fieldFor(body);
    if (!field) {
      M.showMessage(formError, M.errorMessage(result));
      return;
    }
    M.setFieldError(field, body.error === 'email_taken' ? emailTakenMessage(result, email) : M.errorMessage(result));
    field.focus();
  }

  function onSubmit(event) {
    event.preventDefault();
    M.showMessage(formError, '');
    M.clearFieldErrors(form);
    if (!M.validateForm(form, checks)) return;

    var request = buildRequest();
    var email = value('email');
    M.setBusy(form, true, 'Creating account…');
    M.api(request.path, { method: 'POST', body: request.body }).then(function (result) {
      if (result.status === 201 && M.saveSession(result.body)) {
        window.location.assign('/dashboard');
        return;
      }
      M.setBusy(form, false);
      if (result.ok) {
        M.showMessage(formError, 'Your account was created but could not be stored in this browser. Please log in.');
        return;
      }
      showError(result, email);
    });
  }

  document.querySelectorAll('input[name="account_type"]').forEach(function (radio) {
    radio.addEventListener('change', syncAccountType);
  });
  [passwordInput, emailInput, nameInput].forEach(function (input) {
    input.addEventListener('input', updateStrength);
  });
  M.bindShowPassword($('show-password'), passwordInput);
  M.liveValidation(form, checks);
  form.addEventListener('submit', onSubmit);

  syncAccountType(); // radios and fields may be restored by the browser on back/forward
  updateStrength();
})();
