"""The province portal's own service pages, beyond the kit's home page.

"Yêu cầu cấp Phiếu lý lịch tư pháp" stands for the services that need a level 2 electronic
identity (Decree 69/2024/NĐ-CP): the kit's ``acr_required`` sends anyone signed in below it (or
not at all) to sign in again with ``acr_values=LoA2``, and the callback has already checked the
ID token's ``acr`` before the page opens.
"""

from __future__ import annotations

from flask import Blueprint, render_template, session

from clients.kit.assurance import acr_required
from clients.kit.i18n import describe_acr

bp = Blueprint("province", __name__)

#: The level the judicial-record request needs.
JUDICIAL_RECORD_ACR = "LoA2"


@bp.get("/services/judicial-record")
@acr_required(JUDICIAL_RECORD_ACR)
def judicial_record():
    claims = session["claims"]
    return render_template("province/judicial_record.html", claims=claims,
                           assurance=describe_acr(claims.get("acr")))
