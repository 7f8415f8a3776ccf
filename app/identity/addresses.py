"""Which email addresses mail can be sent to as written.

The contract's check is as lenient as Cognito's (one "@" with something on each side),
but mail software parses an address again: smtplib (for the envelope) and the header
parser read `a<b@example.com` as `b@example.com`, `a"b@x` as `a`, and decode `=?...?=`
encoded words into other text. Such an address would send its code to someone else, or
make delivery fail, so it is refused where one is entered and never mailed to.
"""

from email.utils import parseaddr


def is_mailbox(address: str) -> bool:
    """Whether mail to `address` goes to `address` itself (and it holds no control
    character, which a terminal showing it would act on)."""
    return address.isprintable() and "=?" not in address and parseaddr(address)[1] == address
