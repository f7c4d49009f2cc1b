"""Who may do what: passwords, sessions and login, 2FA, invites, users, tenants, SSO, API tokens."""

from crm_app.services.access import api_tokens, sessions, sso
from crm_app.services.access.account import (  # noqa: F401
    AccountInfo,
    AccountOverview,
    PasswordRefused,
    WrongPassword,
    account_info,
    account_overview,
    change_password,
    finish_enrolment,
    logout_everywhere,
    rotate_session,
    set_email_assigned_while_away,
)
from crm_app.services.access.api_tokens import (  # noqa: F401
    ApiTokenRow,
    TokenAuth,
    authenticate_token,
    create,
    hash_secret,
    list_tokens,
    resolve,
    revoke,
    take_request_slot,
)
from crm_app.services.access.audit_log import (  # noqa: F401
    AuditLogOverview,
    audit_log_overview,
)
from crm_app.services.access.invites import (  # noqa: F401
    InviteInfo,
    InviteInvalid,
    accept,
    clear_link,
    hash_link_token,
    issue_link,
    link_url,
    peek,
)
from crm_app.services.access.logins import (  # noqa: F401
    PendingExpired,
    SecondFactorRequired,
    authenticate,
    login,
    login_second_step,
    verify_second_step,
)
from crm_app.services.access.mfa import (  # noqa: F401
    Enrolment,
    InvalidCode,
    MfaRefused,
    code_at,
    confirm_enrolment,
    current_step,
    disable,
    is_enabled,
    matching_step,
    must_enrol,
    normalize_recovery,
    qr_data_uri,
    regenerate_recovery_codes,
    remaining_recovery_codes,
    role_requires_2fa,
    start_enrolment,
    use_recovery_code,
    verify_second_factor,
    verify_totp,
)
from crm_app.services.access.passwords import (  # noqa: F401
    check_password,
    check_strength,
    dummy_hash,
    hash_password,
    unusable_password,
)
from crm_app.services.access.scopes import scope  # noqa: F401
from crm_app.services.access.sessions import (  # noqa: F401
    ABSOLUTE_RANGE,
    Access,
    PolicyInvalid,
    SecurityPolicy,
    SessionRow,
    actor_for,
    browser_binding,
    browser_proof,
    find_active_tenant,
    get_security_policy,
    hash_token,
    issue_login_ticket,
    list_sessions,
    logout,
    open_session,
    peek_actor,
    peek_session,
    proves_browser,
    redeem_login_ticket,
    resolve_access,
    resolve_actor,
    resolve_actor_access,
    resolve_session,
    revoke_session,
    revoke_user_sessions,
    session_timeouts,
    update_security_policy,
)
from crm_app.services.access.sso import (  # noqa: F401
    Discovery,
    DiscoveryError,
    LoginDone,
    LoginStart,
    SsoError,
    SsoSettingsView,
    begin_login,
    check_issuer,
    fetch_discovery,
    finish_login,
    forget_caches,
    get_config,
    map_role,
    redirect_uri,
    save_config,
    seed_demo,
    test_discovery,
    verify_id_token,
)
from crm_app.services.access.tenants import (  # noqa: F401
    TenantAdminRow,
    TenantRow,
    create_tenant,
    ensure_tenant,
    find_tenant_by_slug,
    get_tenant_by_slug,
    list_tenants,
    reactivate_tenant,
    require_operator,
    set_platform_operator,
    suspend_tenant,
    tenant_name,
)
from crm_app.services.access.throttle import (  # noqa: F401
    LoginThrottled,
    Verdict,
    account_key,
    check,
    clear,
    ensure_allowed,
    record_failure,
    record_success,
)
from crm_app.services.access.users import (  # noqa: F401
    LastAdmin,
    OwnAccount,
    UserRow,
    access_user,
    change_role,
    create_user,
    ensure_user,
    find_user_by_email,
    get_user,
    list_users,
    reset_password,
    set_active,
    set_capacity,
)

# The constants that routes and pages read, besides the functions and classes above.
COOKIE_NAME = sessions.COOKIE_NAME
PRELOGIN_COOKIE = sessions.PRELOGIN_COOKIE
TOKEN_SCOPES = api_tokens.SCOPES  # the registry in scopes.py
SSO_REASONS = sso.REASONS
SSO_PENDING_SECONDS = sso.PENDING_SECONDS
