"""Meta's error codes and the two shapes they take: a Graph error body and a webhook error object.

Titles and details follow Meta's error-code page (see the reference notes, §4.9-§4.10).
HTTP statuses are not contractual at Meta; the fake answers 401 for token errors and
400 for everything else, which is what integrators observe.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

ERROR_CODES_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
GRAPH_DOCS = "https://developers.facebook.com/docs/graph-api"


@dataclass(frozen=True)
class ErrorInfo:
    """What Meta says about one error code."""

    title: str
    details: str
    http_status: int = 400
    webhook_details: str | None = None


CATALOGUE: dict[int, ErrorInfo] = {
    0: ErrorInfo("AuthException", "We were unable to authenticate the app user.", 401),
    4: ErrorInfo("Application request limit reached", "The app has reached its API call rate limit."),
    10: ErrorInfo("Permission denied", "Permission is either not granted or has been removed.", 403),
    100: ErrorInfo("Invalid parameter",
                   "The request included one or more unsupported or misspelled parameters."),
    190: ErrorInfo("Access token has expired", "Your access token has expired.", 401),
    200: ErrorInfo("API Permission", "Permission is either not granted or has been removed.", 403),
    368: ErrorInfo("Temporarily blocked for policies violations",
                   "The WhatsApp Business Account associated with the app has been restricted or disabled "
                   "for violating a platform policy."),
    80007: ErrorInfo("Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: ErrorInfo("Rate limit hit", "Cloud API message throughput has been reached.",
                      webhook_details="Message failed to send because there were too many messages sent "
                                      "from this phone number in a short period of time"),
    130472: ErrorInfo("User's number is part of an experiment", "Message was not sent as part of an experiment.",
                      webhook_details="Failed to send message because this user's phone number is part of "
                                      "an experiment"),
    130497: ErrorInfo("Business account is restricted from messaging users in this country",
                      "The WhatsApp Business Account is restricted from messaging to users in certain countries."),
    131000: ErrorInfo("Something went wrong", "Message failed to send due to an unknown error."),
    131005: ErrorInfo("Access denied", "Permission is either not granted or has been removed.", 403),
    131008: ErrorInfo("Required parameter is missing", "The request is missing a required parameter."),
    131009: ErrorInfo("Parameter value is not valid", "One or more parameter values are invalid."),
    131016: ErrorInfo("Service unavailable", "A service is temporarily unavailable.", 503),
    131021: ErrorInfo("Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: ErrorInfo("Message undeliverable",
                      "Unable to deliver message. Reasons can include: The recipient phone number is not a "
                      "WhatsApp phone number. Recipient has not accepted the new Terms of Service and Privacy "
                      "Policy. Recipient using an old WhatsApp version."),
    131030: ErrorInfo("Recipient phone number not in allowed list",
                      "Recipient phone number not in allowed list: Add recipient phone number to recipient list "
                      "and try again."),
    131031: ErrorInfo("Account has been locked",
                      "The WhatsApp Business Account associated with the app has been restricted or disabled "
                      "for violating a platform policy, or we were unable to verify data included in the request "
                      "against data set on the WhatsApp Business Account (e.g, the two-step pin included in the "
                      "request is incorrect)."),
    131042: ErrorInfo("Business eligibility payment issue", "There was an error related to your payment method."),
    131045: ErrorInfo("Incorrect certificate", "Message failed to send due to a phone number registration error."),
    131047: ErrorInfo("Re-engagement message",
                      "More than 24 hours have passed since the recipient last replied to the sender number.",
                      webhook_details="Message failed to send because more than 24 hours have passed since the "
                                      "customer last replied to this number."),
    131048: ErrorInfo("Spam rate limit hit",
                      "Message failed to send because there are restrictions on how many messages can be sent "
                      "from this phone number. This may be because too many previous messages were blocked or "
                      "flagged as spam."),
    131049: ErrorInfo("This message was not delivered to maintain healthy ecosystem engagement.",
                      "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."),
    131050: ErrorInfo("Unable to deliver the message",
                      "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
                      "messages on WhatsApp from your business."),
    131051: ErrorInfo("Unsupported message type", "Unsupported message type."),
    131052: ErrorInfo("Media download error", "Unable to download the media sent by the user."),
    131053: ErrorInfo("Media upload error", "Unable to upload the media used in the message."),
    131056: ErrorInfo("(Business Account, Consumer Account) pair rate limit hit",
                      "Too many messages sent from the sender phone number to the same recipient phone number in "
                      "a short period of time."),
    131057: ErrorInfo("Business Account is in maintenance mode", "Business Account is in maintenance mode."),
    132000: ErrorInfo("Number of parameters does not match the expected number of params",
                      "The number of variable parameter values included in the request did not match the number "
                      "of variable parameters defined in the template."),
    132001: ErrorInfo("Template name does not exist in the translation",
                      "The template does not exist in the specified language or the template has not been "
                      "approved."),
    132005: ErrorInfo("Translated text too long", "Translated text is too long."),
    132007: ErrorInfo("Template format character policy violated", "Template content violates a WhatsApp policy."),
    132012: ErrorInfo("Parameter format does not match format in the created template",
                      "Variable parameter values formatted incorrectly."),
    132015: ErrorInfo("Template is paused", "Template is paused due to low quality so it cannot be sent."),
    132016: ErrorInfo("Template is disabled", "Template has been paused too many times due to low quality and is "
                                              "now permanently disabled."),
    132018: ErrorInfo("Template validation error", "There's an issue with the parameters in your template."),
    133010: ErrorInfo("Phone number not registered", "The phone number is not registered on the WhatsApp "
                                                     "Business Platform."),
    135000: ErrorInfo("Generic user error",
                      "Message failed to send because of an unknown error with your request parameters."),
}

UNKNOWN = ErrorInfo("Unknown error", "An unknown error occurred.")


def info(code: int) -> ErrorInfo:
    """The catalogue entry for `code`, or a generic one."""
    return CATALOGUE.get(code, UNKNOWN)


def new_fbtrace_id() -> str:
    """An opaque trace id like Meta's (23 url-safe characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(17)).decode()[:23]


class GraphError(Exception):
    """A refusal of a Graph API call, rendered as Meta's `{"error": {...}}` body."""

    def __init__(self, code: int, details: str | None = None, *, message: str | None = None,
                 http_status: int | None = None, error_type: str = "OAuthException",
                 subcode: int | None = None, with_data: bool = True) -> None:
        entry = info(code)
        self.code = code
        self.details = details if details is not None else entry.details
        self.message = message or f"(#{code}) {entry.title}"
        self.http_status = http_status or entry.http_status
        self.error_type = error_type
        self.subcode = subcode
        self.with_data = with_data
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """Meta's error envelope (§4.9)."""
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.with_data:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = new_fbtrace_id()
        return {"error": error}


def invalid_token() -> GraphError:
    """A bearer token that is missing or not ours."""
    return GraphError(190, message="Invalid OAuth access token - Cannot parse access token", with_data=False)


def expired_token(now: dt.datetime) -> GraphError:
    """Meta's expired-session error (code 190, subcode 463), for fault injection."""
    stamp = "%A, %d-%b-%y %H:%M:%S UTC"
    expired = (now - dt.timedelta(hours=1)).strftime(stamp)
    message = f"Error validating access token: Session has expired on {expired}. The current time is " \
              f"{now.strftime(stamp)}."
    return GraphError(190, message=message, subcode=463, with_data=False)


def unknown_object(method: str, object_id: str) -> GraphError:
    """Graph's answer for an id that does not exist (or is not ours)."""
    message = (f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due "
               f"to missing permissions, or does not support this operation. Please read the Graph API "
               f"documentation at {GRAPH_DOCS}")
    return GraphError(100, message=message, error_type="GraphMethodException", subcode=33, with_data=False)


def unknown_path(path: str) -> GraphError:
    """Graph's answer for a path it does not know."""
    return GraphError(2500, message=f"Unknown path components: {path}", with_data=False)


def param_error(sentence: str, code: int = 100) -> GraphError:
    """A validation error whose message is `(#code) <sentence>`, with the sentence as details."""
    return GraphError(code, sentence, message=f"(#{code}) {sentence}")


def invalid_value(details: str) -> GraphError:
    """131009 "Parameter value is not valid" with Meta-style details."""
    return GraphError(131009, details)


def injected(code: int, now: dt.datetime, details: str | None = None, http_status: int | None = None) -> GraphError:
    """An error requested through the fault controls."""
    if code == 190:
        error = expired_token(now)
        if http_status:
            error.http_status = http_status
        return error
    return GraphError(code, details, http_status=http_status)


def webhook_error(code: int, details: str | None = None) -> dict[str, Any]:
    """The error object of a `failed` status or of `value.errors` (§3.15-§3.16)."""
    entry = info(code)
    return {
        "code": code,
        "title": entry.title,
        "message": entry.title,
        "error_data": {"details": details or entry.webhook_details or entry.details},
        "href": ERROR_CODES_HREF,
    }
