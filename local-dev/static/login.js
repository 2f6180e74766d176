/* Login page (/login). Depends on /static/app.js (window.Mem0). */
(function () {
  'use strict';

  var M = window.Mem0;
  var $ = function (id) { return document.getElementById(id); };
  var form = $('login-form');
  var emailInput = $('email');
  var passwordInput = $('password');
  var formError = $('form-error');

  function prefillEmail() {
    var params = new URLSearchParams(window.location.search);
    var email = params.get('email');
    $('session-ended').hidden = params.get('session') !== 'ended';
    if (email) {
      emailInput.value = email;
      passwordInput.focus();
    } else {
      emailInput.focus();
    }
  }

  function showAlreadySignedIn() {
    $('already-signed-in').hidden = !M.tokenIsLive(M.getToken());
  }

  function failureMessage(result) {
    var body = result.body || {};
    if (result.status === 401 || body.error === 'invalid_credentials') return 'Wrong email or password.';
    if (result.status === 429) return M.rateLimitMessage(result, 'Too many failed logins for this email.');
    return M.errorMessage(result);
  }

  function onSubmit(event) {
    event.preventDefault();
    M.showMessage(formError, '');
    M.clearFieldErrors(form);
    if (!M.validateForm(form)) return;

    var body = { email: emailInput.value.trim(), password: passwordInput.value };
    M.setBusy(form, true, 'Logging in…');
    M.api('/auth/login', { method: 'POST', body: body }).then(function (result) {
      if (result.status === 200 && M.saveSession(result.body)) {
        window.location.assign('/dashboard');
        return;
      }
      M.setBusy(form, false);
      if (result.ok) {
        M.showMessage(formError, 'Logged in, but the session could not be stored in this browser (is storage disabled?).');
        return;
      }
      M.showMessage(formError, failureMessage(result));
      if (result.status === 401) {
        passwordInput.value = '';
        passwordInput.focus();
      }
    });
  }

  M.bindShowPassword($('show-password'), passwordInput);
  M.liveValidation(form);
  form.addEventListener('submit', onSubmit);
  prefillEmail();
  showAlreadySignedIn();
})();
