/* Login page (/login). Depends on /static/app.js (window.Mem0). */
(function () {
  'use strict';

  var M = window.Mem0;
  var form = document.getElementById('login-form');
  var emailInput = document.getElementById('email');
  var passwordInput = document.getElementById('password');
  var formError = document.getElementById('form-error');

  function prefillEmail() {
    var email = new URLSearchParams(window.location.search).get('email');
    if (email) {
      emailInput.value = email;
      passwordInput.focus();
    } else {
      emailInput.focus();
    }
  }

  function showAlreadySignedIn() {
    document.getElementById('already-signed-in').hidden = !M.tokenIsLive(M.getToken());
  }

  function failureMessage(result) {
    var body = result.body || {};
    if (result.status === 401 || body.error === 'invalid_credentials') return 'Wrong email or password.';
    if (result.status === 429) {
      var retry = M.retryAfterText(result.headers);
      return M.errorMessage(result, 'Too many attempts.') + (retry ? ' ' + retry : '');
    }
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
      if (result.status === 200 && M.saveSession(result.body.user)) {
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

  M.bindShowPassword(document.getElementById('show-password'), passwordInput);
  M.clearErrorsOnInput(form);
  form.addEventListener('submit', onSubmit);
  prefillEmail();
  showAlreadySignedIn();
})();
