"""Portal messages of the search (home page and its results), zh and en; merged into `i18n.MESSAGES`.

The search finds shops by name, address (a pasted item link too) and their operator's registered name or USCC,
and businesses by registered name; never a natural person by name. The messages say so, so that "nothing
found" does not read as "no record" (found by review).
"""

from __future__ import annotations

PAIRS: dict[str, tuple[str, str]] = {
    "search.label": ("查询网店", "Search shops"),
    "search.placeholder": ("店铺名称、经营者名称、店铺网址或统一社会信用代码",
                           "Shop name, business name, shop URL or unified social credit code"),
    "search.button": ("查询", "Search"),
    "search.hint": ("可粘贴商品页链接；输入时自动显示结果。",
                    "You may paste an item's link; results appear as you type."),
    "search.none": ("没有找到与“{q}”相符的网店或经营主体。", "No shop or business matches “{q}”."),
    # what is searched, under an empty result: finding nothing is not a clean record
    "search.scope": ("本查询只查找网店名称、店铺网址、经营者（企业、个体工商户等）的登记名称和统一社会信用代码，"
                     "不按个人姓名查找。没有找到不代表没有信用记录：请核对名称或网址，也可查看",
                     "This searches shop names, shop addresses (URLs), and the registered names and unified social "
                     "credit codes of the businesses (companies, individual businesses) that run them; it does not "
                     "search people's names. Finding nothing does not mean a clean record: check the name or "
                     "address, or see the"),
    "search.scope_and": ("和", "and the"),
    "search.scope_end": ("。", "."),
    "search.count": ("找到 {n} 家网店", "{n} shop(s) found"),  # every match is on this page
    "search.count_first": ("找到 {total} 家网店，只显示前 {shown} 家",
                           "{total} shops found; only the first {shown} are shown"),
    "search.count_range": ("找到 {total} 家网店，这是第 {first}–{last} 家",
                           "{total} shops found; showing {first}–{last}"),
    "search.more": ("请翻到下一页，或输入更完整的名称、网址或统一社会信用代码。",
                    "See the next page, or type more of the name, the URL or the USCC."),
    "search.next": ("下一页", "Next page"),
    "search.prev": ("上一页", "Previous page"),
    "search.pages": ("搜索结果分页", "Search result pages"),
    "search.platform": ("所在平台：{name}", "on {name}"),
    "search.grade": ("信用等级 {grade} {words}", "Credit grade {grade} {words}"),
    "search.ungraded": ("尚未评级", "not yet graded"),
    "search.parties": ("持有该统一社会信用代码的经营主体", "Parties with this unified social credit code"),
    "search.parties_named": ("登记名称相符的经营主体", "Businesses whose registered name matches"),
    "search.parties_more": ("找到 {total} 个经营主体，只显示前 {shown} 个；请输入更完整的名称。",
                            "{total} businesses found; only the first {shown} are shown: type more of the name."),
    "search.results_for": ("“{q}”的查询结果", "Results for “{q}”"),
    "search.too_long": ("查询内容过长（最多 {n} 个字符）。请输入店铺名称、经营者名称或统一社会信用代码，"
                        "或只粘贴店铺网址。",
                        "The query is too long (at most {n} characters). Type a shop's or business's name or its "
                        "unified social credit code, or paste just the shop's address."),
}
