"""Cổng Dịch vụ công tỉnh Vĩnh Long: the province public-service portal (sample relying party).

A confidential client (``client_secret_basic``) that asks for the personal ID number
(scope ``personal_id``), as a portal filing administrative procedures must, and lets people act
for a business they represent (scope ``organisation``). One service needs a level 2 electronic
identity and asks for it (``acr_values=LoA2``, ``services.py``).
"""

from clients.kit import create_portal_app, load_settings

from .services import bp as services_bp

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
        "service_level2": "Yêu cầu cấp Phiếu lý lịch tư pháp",
        "service_level2_needs": "Dịch vụ cần định danh điện tử mức độ 2",
        "service_level2_intro": "Bạn đã đăng nhập ở mức độ định danh mà dịch vụ này yêu cầu. "
        "Tờ khai được điền sẵn từ thông tin định danh của bạn.",
        "signed_in_level": "Mức độ định danh của lần đăng nhập này",
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
        "service_level2": "Request a criminal record certificate",
        "service_level2_needs": "Needs a level 2 electronic identity",
        "service_level2_intro": "You signed in at the assurance level this service needs. "
        "The form is filled in from your electronic identity.",
        "signed_in_level": "Assurance level of this sign-in",
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
    app = create_portal_app(settings, import_name=__name__, strings=STRINGS)
    app.register_blueprint(services_bp)
    return app
