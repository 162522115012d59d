"""People and organisations (docs/domain.md §2-§4): citizens and their identifiers, businesses
and who acts for them, staff roles and in-person verification, administrative units. A domain
package: no pages and no passwords (``enrolment`` has the pages, ``accounts`` the sign-in)."""
