/* Signup page (/). Depends on /static/app.js (window.Mem0). */
(function () {
  'use strict';

  var M = window.Mem0;
  var form = document.getElementById('signup-form');
  var orgFields = document.getElementById('org-fields');
  var nameInput = document.getElementById('name');
  var emailInput = document.getElementById('email');
  var passwordInput = document.getElementById('password');
  var passwordCount = document.getElementById('password-count');
  var formError = document.getElementById('form-error');

  function isOrganization() {
    return document.getElementById('account-organization').checked;
  }

  function syncAccountType() {
    var org = isOrganization();
    orgFields.hidden = !org;
    orgFields.disabled = !org; // disabled fields are skipped by validation
  }

  function updatePasswordCount() {
    var n = passwordInput.value.length;
    passwordCount.textContent = n ? '(' + n + (n === 1 ? ' character)' : ' characters)') : '';
  }

  function value(id) {
    return document.getElementById(id).value.trim();
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
    putOptional(organization, 'size', document.getElementById('org-size').value);
    putOptional(organization, 'industry', value('org-industry'));
    return { path: '/auth/signup/organization', body: { user: user, organization: organization } };
  }

  function validate() {
    var ok = M.validateForm(form);
    // minlength only fires for user-typed values; check explicitly as well.
    var len = passwordInput.value.length;
    if (ok && (len < 12 || len > 128)) {
      M.setFieldError(passwordInput, 'Use 12 to 128 characters.');
      passwordInput.focus();
      ok = false;
    }
    if (ok && !nameInput.value.trim()) {
      M.setFieldError(nameInput, 'Enter your name.');
      nameInput.focus();
      ok = false;
    }
    return ok;
  }

  function emailTakenMessage(result, email) {
    var link = M.el('a', { href: '/login?email=' + encodeURIComponent(email), id: 'email-taken-login' }, 'Log in with this email');
    return [M.errorMessage(result, 'An account with this email already exists.') + ' ', link, '.'];
  }

  function showError(result, email) {
    var body = result.body || {};
    var message = M.errorMessage(result);
    if (body.error === 'weak_password') {
      M.setFieldError(passwordInput, message);
      passwordInput.focus();
    } else if (body.error === 'invalid_request' && /e-?mail/i.test(message)) {
      M.setFieldError(emailInput, message);
      emailInput.focus();
    } else if (result.status === 409 || body.error === 'email_taken') {
      M.showMessage(formError, emailTakenMessage(result, email));
    } else if (result.status === 429) {
      var retry = M.retryAfterText(result.headers);
      M.showMessage(formError, message + (retry ? ' ' + retry : ''));
    } else {
      M.showMessage(formError, message);
    }
  }

  function onSubmit(event) {
    event.preventDefault();
    M.showMessage(formError, '');
    M.clearFieldErrors(form);
    if (!validate()) return;

    var request = buildRequest();
    var email = value('email');
    M.setBusy(form, true, 'Creating account…');
    M.api(request.path, { method: 'POST', body: request.body }).then(function (result) {
      if (result.status === 201 && M.saveSession(result.body.user)) {
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
  passwordInput.addEventListener('input', updatePasswordCount);
  M.bindShowPassword(document.getElementById('show-password'), passwordInput);
  M.clearErrorsOnInput(form);
  form.addEventListener('submit', onSubmit);

  syncAccountType(); // radios may be restored by the browser on back/forward
  updatePasswordCount();
})();
