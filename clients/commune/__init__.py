"""Ủy ban nhân dân Phường Phước Hậu: a ward people's committee portal (sample relying party).

Phường Phước Hậu (code 29557) is a ward of the 2025 Vĩnh Long province formed from Phường 3 and
Phường 4 of the former Thành phố Vĩnh Long and Xã Phước Hậu of the former Huyện Long Hồ.
The portal is a public client: no secret, PKCE (RFC 7636) only, and it asks for no more than
``openid profile``, so the gateway does not release the personal ID number to it.
"""

from clients.kit import create_portal_app, load_settings

STRINGS = {
    "vi": {
        "portal_name": "Ủy ban nhân dân Phường Phước Hậu",
        "brand_overline": "Tỉnh Vĩnh Long",
        "agency": "Cổng thông tin điện tử Phường Phước Hậu",
        "home": "Trang chủ",
        "service_birth": "Đăng ký khai sinh",
        "service_residence": "Xác nhận thông tin cư trú",
        "service_certify": "Chứng thực bản sao từ bản chính",
        "footer": "Ủy ban nhân dân Phường Phước Hậu, tỉnh Vĩnh Long. (Trang ví dụ)",
    },
    "en": {
        "portal_name": "People's Committee of Phước Hậu Ward",
        "brand_overline": "Vĩnh Long province",
        "agency": "Phước Hậu Ward electronic information portal",
        "home": "Home",
        "service_birth": "Birth registration",
        "service_residence": "Confirmation of residence",
        "service_certify": "Certified copies of originals",
        "footer": "People's Committee of Phước Hậu Ward, Vĩnh Long province. (Sample site)",
    },
}

DEFAULTS = {
    "base_url": "http://127.0.0.1:5002",
    "scope": "openid profile",
}


def create_app():
    settings = load_settings(DEFAULTS, session_cookie_name="commune_portal_session")
    return create_portal_app(settings, import_name=__name__, strings=STRINGS)
