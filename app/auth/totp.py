"""What a person's authenticator app needs from a TOTP secret: a URI and a QR code of it."""

from __future__ import annotations

from urllib.parse import quote, urlencode


def totp_uri(secret: str, username: str, *, issuer: str) -> str:
    """`otpauth://totp/Issuer:user?secret=...&issuer=Issuer`, the Key Uri Format."""
    label = quote(f"{issuer}:{username}", safe=":@")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1",
                       "digits": 6, "period": 30})
    return f"otpauth://totp/{label}?{query}"


def qr_svg_data_uri(text: str) -> str:
    """The text as a QR code, an SVG data URI a page can show in an <img>."""
    import segno  # only when someone enrols: it is not needed to serve requests

    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))
