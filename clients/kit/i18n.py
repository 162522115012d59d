"""The portals' on-screen words, Vietnamese first (docs/domain.md §5), English second.

A dictionary is enough for two small sample sites; the gateway itself uses gettext catalogues.
Each portal adds its own names (``portal_name``, ``agency``…) with ``create_portal_app(strings=…)``.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app, session

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "language_name": "Tiếng Việt",
        "portal_name": "Cổng thông tin điện tử",
        "brand_overline": "Tỉnh Vĩnh Long",
        "agency": "Ủy ban nhân dân tỉnh Vĩnh Long",
        "footer": "Ví dụ bên nhận xác thực (relying party) của hệ thống định danh điện tử.",
        "sign_in": "Đăng nhập",
        "sign_out": "Đăng xuất",
        "sign_in_prompt": "Đăng nhập bằng tài khoản định danh điện tử để nộp hồ sơ, "
        "theo dõi và nhận kết quả dịch vụ công trực tuyến.",
        "signed_in_as": "Xin chào",
        "full_name": "Họ, chữ đệm và tên",
        "personal_id": "Số định danh cá nhân",
        "personal_id_not_shared": "Không chia sẻ với cổng này",
        "represents": "Đại diện cho tổ chức, doanh nghiệp",
        "assurance": "Tài khoản định danh điện tử",
        "loa1": "Mức độ 1",
        "loa2": "Mức độ 2",
        "signed_out": "Bạn đã đăng xuất.",
        "services": "Dịch vụ công trực tuyến",
        "font_smaller": "Giảm cỡ chữ",
        "font_default": "Cỡ chữ mặc định",
        "font_larger": "Tăng cỡ chữ",
        "contrast_more": "Tăng tương phản",
        "contrast_less": "Giảm tương phản",
        "language": "Ngôn ngữ",
        "error_title": "Đăng nhập không thành công",
        "error_access_denied": "Bạn chưa đồng ý chia sẻ thông tin với cổng này, "
        "nên chưa thể đăng nhập.",
        "error_expired": "Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.",
        "error_unreachable": "Không kết nối được với hệ thống xác thực. Vui lòng thử lại sau.",
        "error_invalid_response": "Phản hồi của hệ thống xác thực không hợp lệ. "
        "Vui lòng đăng nhập lại.",
        "error_provider": "Hệ thống xác thực từ chối yêu cầu đăng nhập.",
        "error_unmet_acr": "Dịch vụ này cần tài khoản định danh điện tử mức độ 2: danh tính "
        "đã được cán bộ Ủy ban nhân dân cấp xã xác thực trực tiếp và đăng nhập có ứng dụng "
        "xác thực. Tài khoản của bạn chưa đạt mức này.",
        "error_acr_too_low": "Lần đăng nhập này chưa đạt mức độ định danh mà dịch vụ yêu cầu, "
        "nên chưa thể sử dụng dịch vụ.",
        "error_code": "Mã lỗi",
        "bad_request_title": "Yêu cầu không hợp lệ",
        "bad_request": "Không xác minh được yêu cầu. Vui lòng tải lại trang và thử lại.",
        "not_found_title": "Không tìm thấy trang",
        "not_found": "Cổng này không có trang bạn tìm. Hãy kiểm tra lại địa chỉ.",
        "try_again": "Đăng nhập lại",
        "back_home": "Về trang chủ",
    },
    "en": {
        "language_name": "English",
        "portal_name": "Information portal",
        "brand_overline": "Vĩnh Long province",
        "agency": "Vĩnh Long Provincial People's Committee",
        "footer": "A sample relying party of the electronic-identity gateway.",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "sign_in_prompt": "Sign in with your electronic identity account to file, track and "
        "receive online public services.",
        "signed_in_as": "Welcome",
        "full_name": "Full name",
        "personal_id": "Personal ID number",
        "personal_id_not_shared": "Not shared with this portal",
        "represents": "Acting for the organisation",
        "assurance": "Electronic identity account",
        "loa1": "Level 1",
        "loa2": "Level 2",
        "signed_out": "You have signed out.",
        "services": "Online public services",
        "font_smaller": "Smaller text",
        "font_default": "Default text size",
        "font_larger": "Larger text",
        "contrast_more": "More contrast",
        "contrast_less": "Less contrast",
        "language": "Language",
        "error_title": "Sign-in did not complete",
        "error_access_denied": "You did not agree to share your information with this portal, "
        "so you are not signed in.",
        "error_expired": "The sign-in attempt has expired or is not valid. Please sign in again.",
        "error_unreachable": "The sign-in service cannot be reached. Please try again later.",
        "error_invalid_response": "The sign-in service sent a response that could not be "
        "verified. Please sign in again.",
        "error_provider": "The sign-in service refused the request.",
        "error_unmet_acr": "This service needs a level 2 electronic identity: an identity "
        "verified in person by a commune officer, and a sign-in with an authenticator app. "
        "Your account has not reached that level.",
        "error_acr_too_low": "This sign-in did not reach the assurance level the service "
        "needs, so the service cannot be used.",
        "error_code": "Error code",
        "bad_request_title": "Invalid request",
        "bad_request": "The request could not be verified. Please reload the page and try again.",
        "not_found_title": "Page not found",
        "not_found": "There is no such page on this portal. Please check the address.",
        "try_again": "Sign in again",
        "back_home": "Back to home",
    },
}

#: ``acr`` values the gateway issues, mapped to the words of Decree 69/2024/NĐ-CP.
ACR_LABELS = {"LoA1": "loa1", "LoA2": "loa2"}


def merge_strings(extra: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    merged = {lang: dict(words) for lang, words in STRINGS.items()}
    for lang, words in (extra or {}).items():
        merged.setdefault(lang, {}).update(words)
    return merged


def get_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def translate(key: str) -> str:
    """The word for ``key`` in the visitor's language, falling back to Vietnamese."""
    strings = current_app.config["PORTAL_STRINGS"]
    return strings[get_locale()].get(key) or strings[DEFAULT_LANGUAGE].get(key, key)


def describe_acr(acr: str | None) -> str | None:
    if not acr:
        return None
    key = ACR_LABELS.get(acr)
    return translate(key) if key else acr
