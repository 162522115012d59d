"""Cổng Dịch vụ công tỉnh Vĩnh Long: the province public-service portal (sample relying party).

A confidential client (``client_secret_basic``) that asks for the personal ID number
(scope ``personal_id``), as a portal filing administrative procedures must, and lets people act
for a business they represent (scope ``organisation``).
"""

from clients.kit import create_portal_app, load_settings

STRINGS = {
    "vi": {
        "portal_name": "Cổng Dịch vụ công tỉnh Vĩnh Long",
        "brand_overline": "Ủy ban nhân dân tỉnh Vĩnh Long",
        "agency": "Cổng thông tin điện tử tỉnh Vĩnh Long",
        "home": "Trang chủ",
        "service_file": "Nộp hồ sơ trực tuyến",
        "service_track": "Tra cứu hồ sơ",
        "service_pay": "Thanh toán trực tuyến",
        "service_feedback": "Đánh giá sự hài lòng",
        "footer": "Cơ quan chủ quản: Ủy ban nhân dân tỉnh Vĩnh Long. "
        "Đơn vị vận hành: Sở Khoa học và Công nghệ. (Trang ví dụ)",
    },
    "en": {
        "portal_name": "Vĩnh Long Province Public Service Portal",
        "brand_overline": "Vĩnh Long Provincial People's Committee",
        "agency": "Vĩnh Long province electronic information portal",
        "home": "Home",
        "service_file": "File an application online",
        "service_track": "Track an application",
        "service_pay": "Pay online",
        "service_feedback": "Rate our service",
        "footer": "Owner: Vĩnh Long Provincial People's Committee. "
        "Operated by the Department of Science and Technology. (Sample site)",
    },
}

DEFAULTS = {
    "base_url": "http://127.0.0.1:5001",
    "scope": "openid profile personal_id organisation",
}


def create_app():
    settings = load_settings(DEFAULTS, session_cookie_name="province_portal_session")
    return create_portal_app(settings, import_name=__name__, strings=STRINGS)
