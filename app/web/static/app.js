// The authgate frontend: a small vanilla script, no build step, nothing from outside the app.
//
// The credential is the HttpOnly `token` cookie, which this script never sees: it ignores
// the token in the sign-in answer and sends cookies with every call. Writes echo the
// script-readable `csrf_token` cookie in X-CSRF-Token (the double-submit check).
// Every text from the server is set with textContent, never parsed as HTML.
"use strict";

(() => {
  const root = document.documentElement;
  const $ = (selector, scope = document) => scope.querySelector(selector);

  // Where the API lives. By default the site that served this page (relative URLs against
  // <base>, so the stage prefix of API Gateway is kept); another origin only through the
  // data-api-base attribute, set by whoever deploys the page. Never from the query string:
  // a link with ?api=https://evil/ would make this page post passwords to that site.
  const apiBase = (() => {
    const configured = (root.dataset.apiBase || "").trim();
    const base = new URL(configured || ".", document.baseURI);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    return base;
  })();
  const crossOrigin = apiBase.origin !== window.location.origin;
  const apiUrl = (path) => new URL(path, apiBase).toString();

  const FIELD_LABELS = {
    username: "Username", email: "Email", password: "Password", code: "Code",
    new_password: "New password", phone_number: "Phone number",
  };

  const state = {
    config: { app_name: "authgate", api_key_required: false, providers: [] },
    user: null,          // the current user's attributes, or null when signed out
    step: null,          // the pending step of the signed-out view
    busy: false,
  };

  // ------------------------------------------------------------------ talking to the API

  function readCookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return "";
  }

  // The CSRF token to echo. From the cookie when the API is this page's own site; from
  // auth/csrf (readable only by the API's allowed origins) when it is another site,
  // whose cookies this page cannot read. Forgotten at every sign-in and sign-out.
  let crossSiteCsrf = null;

  async function csrfToken() {
    if (!crossOrigin) return readCookie("csrf_token");
    if (crossSiteCsrf === null) {
      const answer = await request("GET", "auth/csrf");
      crossSiteCsrf = (answer.ok && answer.data && answer.data.csrf_token) || "";
    }
    return crossSiteCsrf;
  }

  function forgetCsrfToken() {
    crossSiteCsrf = null;
  }

  async function request(method, path, { body, apiKey } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") {
      const csrf = await csrfToken();
      if (csrf) headers["X-CSRF-Token"] = csrf;
    }
    if (apiKey) headers["x-api-key"] = apiKey;
    let response;
    try {
      response = await fetch(apiUrl(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: crossOrigin ? "include" : "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      return { ok: false, status: 0, statusText: "", data: null, retryAfter: null };
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = text;
    }
    return {
      ok: response.ok,
      status: response.status,
      statusText: response.statusText,
      data,
      retryAfter: retryAfterSeconds(response.headers.get("Retry-After")),
    };
  }

  function retryAfterSeconds(header) {
    if (!header) return null;
    if (/^\d+$/.test(header.trim())) return Number(header.trim());
    const when = Date.parse(header);
    return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
  }

  // The API's own messages are written for people ("Incorrect username or password."), so
  // they are shown as they are; only the terse or technical ones get words of their own.
  function describeError(answer) {
    const data = answer.data && typeof answer.data === "object" ? answer.data : {};
    const wait = answer.retryAfter;
    if (answer.status === 0) {
      return "Cannot reach the server. Check your connection and try again.";
    }
    if (!data.error) {
      // API Gateway's usage-plan refusals (and the app's emulation of them) carry only a message.
      if (data.message === "Forbidden") {
        return state.config.api_key_required
          ? "This call needs a valid API key: enter one in API key."
          : "This call needs a valid API key.";
      }
      if (data.message === "Too Many Requests") {
        return wait ? `Too many calls: try again in ${wait} s.` : "Too many calls: wait a moment and try again.";
      }
      if (data.message === "Limit Exceeded") {
        return "This API key has used up its quota for now.";
      }
    }
    switch (data.error) {
      case "TooManyFailedAttempts":
      case "LimitExceeded":
        return wait ? `Too many attempts: try again in ${wait} s` : "Too many attempts: try again later.";
      case "ServiceUnavailable":
        return wait
          ? `The sign-in service cannot be reached: try again in ${wait} s.`
          : "The sign-in service cannot be reached: try again shortly.";
      case "PasswordResetRequired":
        return "Your password must be reset before you can sign in: choose Send reset code.";
      case "CsrfFailed":
        return "This page's session is out of date: reload the page, or sign in again.";
      case "ValidationError":
        return describeValidation(data);
      default:
        break;
    }
    if (typeof data.message === "string" && data.message) return data.message;
    return `The server answered ${answer.status} ${answer.statusText}`.trim() + ".";
  }

  function describeValidation(data) {
    const details = Array.isArray(data.details) ? data.details : [];
    const parts = details.map((detail) => {
      const loc = Array.isArray(detail.loc) ? detail.loc : [];
      const field = loc[loc.length - 1];
      const label = FIELD_LABELS[field];
      if (field === "email") return "Email: enter an address such as name@example.com.";
      if (label) return `${label}: ${String(detail.msg || "not valid").replace(/^Value error, /, "")}.`;
      return String(detail.msg || "");
    }).filter(Boolean);
    return parts.length ? `Please check: ${parts.join(" ")}` : "Please check the form and try again.";
  }

  // ------------------------------------------------------------------ page state helpers

  function setStatus(text, kind = "info") {
    const status = $("#status");
    status.dataset.kind = kind;
    status.textContent = text;
  }

  // While a request runs: aria-busy on <main>, every button disabled, further submits ignored.
  async function busy(work) {
    if (state.busy) return undefined;
    state.busy = true;
    const main = $("#main");
    const focused = document.activeElement;
    const buttons = [...main.querySelectorAll("button")].filter((b) => !b.disabled);
    main.setAttribute("aria-busy", "true");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      return await work();
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      main.setAttribute("aria-busy", "false");
      state.busy = false;
      // A disabled button loses focus: give it back, unless the work moved focus on.
      const lost = !document.activeElement || document.activeElement === document.body;
      if (lost && focused && focused.isConnected) focused.focus();
    }
  }

  function clone(templateId) {
    return document.getElementById(templateId).content.cloneNode(true);
  }

  function value(selector) {
    const input = $(selector);
    return input ? input.value.trim() : "";
  }

  // Says which field is missing, marks it and focuses it; true when all are filled.
  function require(fields) {
    for (const [selector] of fields) {
      const input = $(selector);
      if (input) input.removeAttribute("aria-invalid");
    }
    for (const [selector, label, why] of fields) {
      const input = $(selector);
      if (input && !input.value.trim()) {
        input.setAttribute("aria-invalid", "true");
        setStatus(`Enter your ${label}${why ? ` ${why}` : ""}.`, "error");
        input.focus();
        return false;
      }
    }
    return true;
  }

  // ------------------------------------------------------------------ views

  function showSignedOut({ focus = false } = {}) {
    forgetCsrfToken();
    state.user = null;
    const account = $("#account");
    account.replaceChildren(clone("signed-out-view"));
    renderProviders();
    showStep(null);
    if (focus) $("#credentials-title").focus();
  }

  function renderProviders() {
    const nav = $("#providers");
    if (!nav) return;
    const providers = state.config.providers || [];
    nav.replaceChildren();
    for (const name of providers) {
      const link = document.createElement("a");
      link.className = "button";
      link.href = apiUrl(`auth/oauth/${encodeURIComponent(name)}/authorize?redirect_to=/`);
      link.textContent = `Sign in with ${name}`;
      nav.append(link);
    }
    nav.hidden = providers.length === 0;
  }

  // One step form at a time under the credentials: confirm, mfa, new-password or reset.
  function showStep(step, { intro } = {}) {
    state.step = step;
    const slot = $("#step");
    if (!slot) return;
    if (!step) {
      slot.replaceChildren();
      return;
    }
    slot.replaceChildren(clone(`${step.kind}-step`));
    if (intro) $("[data-slot=intro]", slot).textContent = intro;
    const first = $("input", slot);
    if (first) first.focus();
  }

  function showSignedIn(user, { focus = false } = {}) {
    state.user = user;
    const account = $("#account");
    if (!$("#signed-in-title")) {
      account.replaceChildren(clone("signed-in-view"));
    }
    renderUser(user);
    renderMfa(user);
    if (focus) $("#signed-in-title").focus();
  }

  function renderUser(user) {
    const facts = [
      ["Username", user.username],
      ["Email", user.email ? `${user.email} (${user.email_verified ? "confirmed" : "not confirmed"})` : "none"],
      ["Phone number", user.phone_number
        ? `${user.phone_number} (${user.phone_number_verified ? "confirmed" : "not confirmed"})` : "none"],
      ["Two-step sign-in", user.mfa_enabled ? "on" : "off"],
      ["Groups", user.groups && user.groups.length ? user.groups.join(", ") : "none"],
      ["User ID (sub)", user.sub],
    ];
    const list = $("#current-user");
    list.replaceChildren();
    for (const [term, detail] of facts) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = detail;
      list.append(dt, dd);
    }
  }

  function renderMfa(user) {
    const slot = $("#mfa-settings");
    slot.replaceChildren(clone(user.mfa_enabled ? "mfa-on" : "mfa-off"));
  }

  function showApiAnswer(method, path, answer) {
    const summary = $("#api-answer-summary");
    const body = $("#api-answer-body");
    const outcome = answer.status === 0 ? "no answer" : `${answer.status} ${answer.statusText}`.trim();
    summary.textContent = `${method} /${path} → ${outcome}`;
    summary.dataset.kind = answer.ok ? "ok" : "error";
    if (answer.data === null || answer.data === undefined) {
      body.hidden = true;
      body.textContent = "";
    } else {
      body.hidden = false;
      body.textContent = typeof answer.data === "string"
        ? answer.data : JSON.stringify(answer.data, null, 2);
    }
  }

  // ------------------------------------------------------------------ actions

  async function loadCurrentUser({ quietWhenSignedOut = false, refreshOnce = true } = {}) {
    let answer = await request("GET", "auth/current_user");
    if (answer.status === 401 && refreshOnce && (await csrfToken())) {
      // The ID token may have expired while the refresh cookie is still good.
      const refreshed = await request("POST", "auth/refresh");
      if (refreshed.ok) answer = await request("GET", "auth/current_user");
    }
    if (answer.ok) return answer.data;
    if (answer.status !== 401 || !quietWhenSignedOut) setStatus(describeError(answer), "error");
    return null;
  }

  async function afterSignIn() {
    forgetCsrfToken();  // a new session, a new token
    const user = await loadCurrentUser();
    if (user) {
      showSignedIn(user, { focus: true });
      setStatus(`Signed in as ${user.username}.`, "ok");
    }
  }

  // A sign-in answers tokens (the cookies are set) or a challenge to answer next.
  async function handleSignInAnswer(answer, username) {
    if (!answer.ok) {
      setStatus(describeError(answer), "error");
      const code = answer.data && answer.data.error;
      if (code === "UserNotConfirmed") {
        showStep({ kind: "confirm", username },
          { intro: "Your account is not confirmed yet: enter the code we sent you, or resend it." });
      }
      return;
    }
    const data = answer.data || {};
    if (data.challenge) {
      const step = { kind: "mfa", username, challenge: data.challenge, session: data.session };
      if (data.challenge === "NEW_PASSWORD_REQUIRED") {
        showStep({ ...step, kind: "new-password" });
        setStatus("Choose a new password to finish signing in.", "info");
      } else if (data.challenge === "SMS_MFA") {
        const to = data.delivery ? ` to ${data.delivery.destination}` : "";
        showStep(step, { intro: `Enter the 6-digit code we sent by text message${to}.` });
        setStatus(`Two-step sign-in: we sent a code by text message${to}.`, "info");
      } else {
        showStep(step);
        setStatus("Two-step sign-in: enter the code from your authenticator app.", "info");
      }
      return;
    }
    await afterSignIn();
  }

  const actions = {
    async "sign-in"() {
      if (!require([["#username", "Username"], ["#password", "Password"]])) return;
      const username = value("#username");
      const answer = await request("POST", "auth/signin", {
        body: { username, password: $("#password").value },
      });
      await handleSignInAnswer(answer, username);
    },

    async "sign-up"() {
      if (!require([["#username", "Username"], ["#email", "Email", "to sign up"],
        ["#password", "Password"]])) return;
      const username = value("#username");
      const answer = await request("POST", "auth/signup", {
        body: { username, email: value("#email"), password: $("#password").value },
      });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        return;
      }
      const to = answer.data.delivery ? answer.data.delivery.destination : "your email";
      showStep({ kind: "confirm", username },
        { intro: `We sent a 6-digit code to ${to}. Enter it here.` });
      setStatus(`Signed up as ${answer.data.username}. We sent a code to ${to}: enter it to confirm.`, "ok");
    },

    async confirm() {
      if (!require([["#username", "Username"], ["#code", "Code"]])) return;
      const username = value("#username");
      const answer = await request("POST", "auth/confirm_signup", {
        body: { username, code: value("#code") },
      });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        $("#code").focus();
        return;
      }
      showStep(null);
      setStatus("Your account is confirmed. Sign in with your username and password.", "ok");
      $("#password").focus();
    },

    async "resend-code"() {
      if (!require([["#username", "Username"]])) return;
      const answer = await request("POST", "auth/resend_code", { body: { username: value("#username") } });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        return;
      }
      const to = answer.data.delivery ? answer.data.delivery.destination : "your email";
      setStatus(`We sent a new code to ${to}.`, "ok");
      $("#code").focus();
    },

    async "verify-code"() {
      if (!require([["#code", "Code"]])) return;
      const step = state.step;
      const answer = await request("POST", "auth/signin/challenge", {
        body: { username: step.username, session: step.session, challenge: step.challenge,
                code: value("#code") },
      });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        if ($("#code")) $("#code").select();
        return;
      }
      await handleSignInAnswer(answer, step.username);
    },

    async "set-new-password"() {
      if (!require([["#new-password", "New password"]])) return;
      const step = state.step;
      const answer = await request("POST", "auth/signin/challenge", {
        body: { username: step.username, session: step.session, challenge: step.challenge,
                new_password: $("#new-password").value },
      });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        $("#new-password").focus();
        return;
      }
      await handleSignInAnswer(answer, step.username);
    },

    async "forgot-password"() {
      if (!require([["#username", "Username", "to reset the password"]])) return;
      const username = value("#username");
      const answer = await request("POST", "auth/forgot_password", { body: { username } });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        return;
      }
      const to = answer.data.delivery ? answer.data.delivery.destination : "your email";
      showStep({ kind: "reset", username },
        { intro: `If ${username} has an account, we sent a code to ${to}. Enter it and a new password.` });
      setStatus(`We sent a reset code to ${to}.`, "ok");
    },

    async "reset-password"() {
      if (!require([["#username", "Username"], ["#code", "Code"], ["#new-password", "New password"]])) return;
      const answer = await request("POST", "auth/confirm_forgot_password", {
        body: { username: value("#username"), code: value("#code"),
                password: $("#new-password").value },
      });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        return;
      }
      showStep(null);
      $("#password").value = "";
      setStatus("Your password has been reset. Sign in with the new one.", "ok");
      $("#password").focus();
    },

    "show-confirm"() {
      showStep({ kind: "confirm", username: value("#username") },
        { intro: "Enter your username above and the 6-digit code we sent you." });
      setStatus("", "info");
    },

    "cancel-step"() {
      showStep(null);
      setStatus("", "info");
      $("#username").focus();
    },

    async "sign-out"() {
      let answer = await request("POST", "auth/signout");
      if (!answer.ok && answer.data && answer.data.error === "CsrfFailed" && !crossOrigin) {
        // The csrf_token cookie is gone while the others stay: nothing could sign this
        // person out. The same-site GET form of sign-out needs no token.
        answer = await request("GET", "auth/signout");
      }
      if (answer.status === 503 || answer.status === 429) {
        // The server cleared this browser's cookies but could not end the sessions
        // elsewhere: signed out here, and the answer says what is left to do.
        showSignedOut({ focus: true });
        setStatus((answer.data && answer.data.message) || describeError(answer), "error");
        return;
      }
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        return;
      }
      showSignedOut({ focus: true });
      setStatus("Signed out.", "ok");
    },

    async "reload-user"() {
      const user = await loadCurrentUser();
      if (user) {
        showSignedIn(user);
        setStatus(`Signed in as ${user.username}.`, "ok");
      } else {
        showSignedOut({ focus: true });
      }
    },

    async "totp-setup"() {
      const answer = await request("POST", "auth/mfa/totp/setup");
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        return;
      }
      const slot = $("#totp-enrolment");
      slot.replaceChildren(clone("totp-enrolment-form"));
      $("#totp-qr").src = answer.data.qr_svg;
      $("#totp-secret").textContent = answer.data.secret;
      setStatus("Scan the QR code with your authenticator app, then enter the code it shows.", "info");
      $("#code").focus();
    },

    async "totp-verify"() {
      if (!require([["#code", "Code"]])) return;
      const answer = await request("POST", "auth/mfa/totp/verify", { body: { code: value("#code") } });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        $("#code").select();
        return;
      }
      const user = (await loadCurrentUser()) || { ...state.user, mfa_enabled: true };
      showSignedIn(user);
      setStatus("Two-step sign-in is on: from now on, signing in asks for a code from your app.", "ok");
      $("#mfa-settings-title").focus();
    },

    async "mfa-disable"() {
      if (!require([["#code", "Code"]])) return;
      const answer = await request("POST", "auth/mfa/disable", { body: { code: value("#code") } });
      if (!answer.ok) {
        setStatus(describeError(answer), "error");
        $("#code").select();
        return;
      }
      const user = (await loadCurrentUser()) || { ...state.user, mfa_enabled: false };
      showSignedIn(user);
      setStatus("Two-step sign-in is off.", "ok");
    },

    async "call-public"() {
      await callApi("public");
    },

    async "call-protected"() {
      await callApi("protected");
    },
  };

  async function callApi(path) {
    const apiKey = value("#api-key");
    const answer = await request("GET", path, { apiKey });
    showApiAnswer("GET", path, answer);
    if (answer.ok) {
      setStatus(answer.data && answer.data.message ? answer.data.message : `/${path} answered.`, "ok");
      return;
    }
    if (answer.status === 401) {
      setStatus(`/${path} refused: you are not signed in (or your session ended). Sign in, then call it again.`, "error");
      return;
    }
    setStatus(`/${path} refused: ${describeError(answer)}`, "error");
  }

  // One listener for every form and button: data-action names what to do.
  function onSubmit(event) {
    event.preventDefault();
    const submitter = event.submitter || $("button[type=submit]", event.target);
    const name = submitter && submitter.dataset.action;
    if (name && actions[name]) busy(() => actions[name]());
  }

  function onClick(event) {
    const button = event.target.closest("button[type=button][data-action]");
    if (!button) return;
    const name = button.dataset.action;
    if (actions[name]) busy(() => actions[name]());
  }

  // ------------------------------------------------------------------ start

  function showAuthError() {
    const params = new URLSearchParams(window.location.search);
    const code = params.get("auth_error");
    if (!code) return;
    const message = params.get("message") || "The other site did not sign you in.";
    $("#banner-text").textContent = `Sign-in with another account failed: ${message} (${code})`;
    $("#banner").hidden = false;
    // Keep the banner, drop the parameters: a reload should not show it again.
    params.delete("auth_error");
    params.delete("message");
    const query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? `?${query}` : "") + window.location.hash);
  }

  function applyConfig(config) {
    state.config = { ...state.config, ...config };
    $("#app-name").textContent = state.config.app_name;
    document.title = state.config.app_name;
    const slot = $("#api-key-slot");
    if (state.config.api_key_required && !$("#api-key")) slot.replaceChildren(clone("api-key-field"));
    renderProviders();
  }

  async function start() {
    document.addEventListener("submit", onSubmit);
    document.addEventListener("click", onClick);
    $("#banner-dismiss").addEventListener("click", () => { $("#banner").hidden = true; });
    showAuthError();
    const [config, user] = await busy(() => Promise.all([
      request("GET", "config"),
      loadCurrentUser({ quietWhenSignedOut: true }),
    ]));
    if (config.ok && config.data) applyConfig(config.data);
    else setStatus(`Cannot read the page's settings: ${describeError(config)}`, "error");
    if (user) showSignedIn(user);
    else showSignedOut();
    root.dataset.ready = "true";
  }

  start();
})();
