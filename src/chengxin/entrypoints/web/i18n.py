"""The portal's message catalogue: every UI string in zh-CN (default) and English.

`Translator(lang)("key", name=...)` looks a message up and formats it; a key missing from the catalogue
shows as itself (so a gap is visible, never a crash). Enumerations (party kinds, record kinds, outcomes ...)
use dotted keys: `kind.enterprise`, `record.rating`, `outcome.upheld`.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter
from typing import Any

from chengxin.entrypoints.web.i18n_entities import PAIRS as ENTITY_PAIRS
from chengxin.entrypoints.web.i18n_lists import PAIRS as LIST_PAIRS
from chengxin.entrypoints.web.i18n_search import PAIRS as SEARCH_PAIRS

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}
COOKIE = "cx_lang"

# (zh, en) per key; split into the two catalogues below.
_PAIRS: dict[str, tuple[str, str]] = {
    "site.name": ("诚信 · 电子商务信用公示", "Chengxin · e-commerce credit registry"),
    "site.tagline": ("查询网店的营业执照、许可证、实名核验与信用记录",
                     "Look up a shop's licences, identity checks and credit records"),
    "nav.home": ("首页", "Home"),
    "nav.lang_switch": ("English", "中文"),
    "footer.api": ("开放接口文档", "API documentation"),
    "footer.head": ("信用日志签名树头", "Signed head of the credit log"),
    "footer.privacy": ("个人信息依法保护：自然人姓名脱敏显示，身份证号不公开。",
                       "Personal information is protected: natural persons' names are masked, ID numbers never shown."),
    "shop.open": ("营业中", "Open"),
    "shop.closed": ("已关闭", "Closed"),
    # a close_shop or hide_shop measure in force: "open" beside it contradicted it (found by review)
    "shop.ordered_closed": ("责令关闭", "Ordered closed"),
    "reporter.regulator": ("监管部门（{code}）", "regulator ({code})"),
    "reporter.hotline": ("投诉热线 {code}", "hotline {code}"),
    "reporter.payment": ("支付机构（{code}）", "payment institution ({code})"),
    "reporter.chengxin": ("诚信平台", "Chengxin"),
    "rec.order_note": ("按记入信用日志的先后排列，最新在前", "in the order they entered the credit log, newest first"),
    "rec.verify_of": ("验证第 {index} 号记录的收录", "verify inclusion of record {index}"),
    "shop.closed_on": ("{date} 关闭：{reason}", "Closed on {date}: {reason}"),
    "shop.url": ("店铺网址", "Shop URL"),
    "shop.categories": ("经营类目", "Categories"),
    "shop.opened_at": ("开店时间", "Opened"),
    "shop.operator": ("经营者身份信息", "Operator's business identity"),
    "shop.view_operator": ("查看经营者信用档案", "View the operator's credit file"),
    "party.name": ("名称", "Name"),
    "party.kind": ("主体类型", "Type"),
    "party.uscc": ("统一社会信用代码", "Unified social credit code"),
    "party.region": ("所在地区", "Region"),
    "party.reports": ("报送来源", "Reported by"),
    "party.shops": ("经营的网店", "Shops operated"),
    "party.person_notice": ("该主体为自然人。依据《个人信息保护法》，仅公示脱敏姓名与实名核验状态，不公示其信用记录。",
                            "This is a natural person. Under the Personal Information Protection Law only the masked "
                            "name and the identity-verification status are public; credit records are not."),
    "verify.label": ("实名核验", "Identity check"),
    "verify.verified": ("已实名核验", "Identity verified"),
    "verify.unverified": ("未实名核验", "Identity not verified"),
    "verify.invalid": ("身份信息无效", "Identity invalid"),
    "verify.verified_at": ("核验时间 {at}", "verified {at}"),
    "flag.licence_missing": ("缺少经营所需许可证", "Required licence missing"),
    "flag.operator_identity_invalid": ("经营者身份信息无效", "Operator identity invalid"),
    "flag.identity_invalid": ("身份信息无效", "Identity invalid"),
    "lic.title": ("营业执照与许可证", "Business licence and permits"),
    "lic.none": ("未公示任何证照。", "No licence published."),
    "lic.type": ("证照类型", "Type"),
    "lic.number": ("编号", "Number"),
    "lic.issuer": ("发证机关", "Issuer"),
    "lic.validity": ("有效期", "Validity"),
    "lic.valid_now": ("当前是否有效", "Valid now"),
    "lic.open_ended": ("长期", "open-ended"),
    "lic.yes": ("有效", "valid"),
    "lic.no": ("无效", "not valid"),
    "req.title": ("类目所需证照", "Licences its categories require"),
    "req.all_shops": ("所有网店", "every shop"),
    "req.category": ("类目", "Category"),
    "req.needed": ("需持有其一", "Needs one of"),
    "req.status": ("状态", "Status"),
    "req.ok": ("已持有", "held"),
    "req.status.missing": ("缺失", "missing"),
    "req.status.expired": ("已过期", "expired"),
    "req.status.not_yet_valid": ("尚未生效", "not yet valid"),
    "req.gap_banner": ("注意：该网店缺少 {n} 项经营所需证照。", "Warning: this shop lacks {n} required licence(s)."),
    "req.all_held": ("经营所需证照齐全。", "All required licences are held."),
    "rating.all_time": ("累计 {n} 条买家评价，平均 {avg} 分", "{n} buyer rating(s) in all, average {avg}"),
    "standing.title": ("卖家信用与店铺评分", "Seller credit and shop ratings"),
    "standing.party_title": ("信用积分与等级", "Credit points and level"),
    "standing.points": ("信用积分", "Credit points"),
    "standing.points_of_shops": ("其经营网店的信用积分合计。", "The credit points of the shops it operates, together."),
    "standing.buyer_credit": ("作为买家另有信用积分 {points}。", "As a buyer it has {points} credit points besides."),
    "standing.level": ("信用等级", "Credit level"),
    "standing.no_level": ("暂无等级", "No level yet"),
    "standing.first_level": ("积满 {minimum} 分为 {label}", "{minimum} points make {label}"),
    "standing.next": ("再得 {gap} 分升至下一级（{next} 分）", "{gap} more point(s) to the next level ({next})"),
    "standing.top": ("已是最高等级", "Highest level reached"),
    "standing.points_rule": ("好评 +1、中评 0、差评 −1；同一买家每自然月最多计 ±6 分，虚假交易的计分会被撤回。",
                             "Positive +1, neutral 0, negative −1; one buyer counts at most ±6 a natural month, and "
                             "points of fake orders are taken back."),
    "tier.heart": ("红心", "hearts"),
    "tier.diamond": ("钻石", "diamonds"),
    "tier.crown": ("皇冠", "crowns"),
    "tier.gold_crown": ("金冠", "gold crowns"),
    "positive.title": ("好评率", "Positive rate"),
    "positive.window": ("（近 {days} 天）", "(last {days} days)"),
    "positive.counts": ("好评 {positive} · 中评 {neutral} · 差评 {negative}",
                        "{positive} positive · {neutral} neutral · {negative} negative"),
    "positive.none": ("近 {days} 天没有计入好评率的评价。", "No rating in the last {days} days counts toward it."),
    "dsr.title": ("店铺动态评分", "Detailed seller ratings"),
    "dsr.window": ("近 {days} 天 {n} 条评分，与同类目“{category}”网店平均相比",
                   "{n} rating(s) in the last {days} days, against the average of “{category}” shops"),
    "dsr.none": ("近 {days} 天暂无动态评分。", "No detailed ratings in the last {days} days."),
    "dsr.dimension": ("评分项", "Rating"),
    "dsr.shop": ("本店", "This shop"),
    "dsr.vs": ("与同类相比", "Against the category"),
    "dsr.higher": ("高于同类 {pct}%", "{pct}% above the category"),
    "dsr.lower": ("低于同类 {pct}%", "{pct}% below the category"),
    "dsr.same": ("与同类持平", "level with the category"),
    "dsr.category_avg": ("（同类平均 {avg}）", "(category average {avg})"),
    "dsr.as_of": ("（同类平均计算于 {date}）", "(the category's average as of {date})"),
    "dsr.no_category": ("同类暂无数据", "no category figure"),
    "dsr.as_described": ("宝贝与描述相符", "Item as described"),
    "dsr.service": ("卖家服务态度", "Seller's service"),
    "dsr.logistics": ("物流服务质量", "Delivery service"),
    "credit.title": ("信用评分与等级", "Credit score and grade"),
    "credit.grade": ("信用等级", "Grade"),
    "credit.score": ("信用评分", "Score"),
    "credit.of_operator": ("网店的信用评分即其经营者（{name}）的评分。", "A shop's score is its operator's ({name})."),
    "credit.capped": ("按评分为 {grade} 级；因列入{lists}，等级降为 {capped}（联合惩戒措施“降低信用等级”）。",
                      "Scored {grade}; lowered to {capped} while on the {lists} (joint measure \"grade capped\")."),
    "credit.not_scored": ("尚未评分。", "Not scored yet."),
    "credit.reasons": ("主要原因", "Main reasons"),
    "credit.no_reasons": ("没有需要特别说明的因素。", "Nothing notable either way."),
    "credit.dimensions": ("各维度得分", "What each part contributes"),
    "credit.dimension": ("维度", "Part"),
    "credit.points": ("得分", "Points"),
    "credit.points_of": ("{points} / {weight} 分", "{points} of {weight}"),
    "credit.why": ("依据", "Based on"),
    "credit.history": ("等级变化", "How the grade moved"),
    "credit.first": ("首次评分：{grade}（{score} 分）", "First scored: {grade} ({score})"),
    "credit.moved": ("{old_grade}（{old_score} 分）→ {grade}（{score} 分）",
                     "{old_grade} ({old_score}) → {grade} ({score})"),
    "credit.changes": ("变化：{changes}", "changes: {changes}"),
    "credit.rules": ("评分规则第 {version} 版，计算于 {at}。", "Scoring rules version {version}, computed {at}."),
    "credit.scale": ("满分 1000 分；A ≥ 850，B ≥ 700，C ≥ 550，其余为 D。",
                     "Out of 1000; A from 850, B from 700, C from 550, D below."),
    "dim.identity": ("身份与资质", "Identity and licences"),
    "dim.trade": ("交易履约", "Trade performance"),
    "dim.complaints": ("投诉处理", "Complaints"),
    "dim.dishonesty": ("失信与处罚", "Dishonesty and sanctions"),
    "dim.commitments": ("信用承诺", "Credit commitments"),
    "dim.tenure": ("经营时长", "Time in business"),
    "cause.events": ("新报送的信用信息", "new reports"),
    "cause.rebuild": ("全量重新计算", "full recount"),
    "cause.time": ("随时间更新（统计期滚动、记录到期）", "time passing (windows moved on, records aged)"),
    "rec.title": ("公开信用记录", "Public credit records"),
    "rec.none": ("暂无公开信用记录。", "No public credit records."),
    "rec.shown": ("显示 {shown} 条，共 {total} 条", "{shown} of {total} shown"),
    "rec.kind": ("类型", "Kind"),
    "rec.date": ("日期", "Date"),
    "rec.description": ("内容", "Description"),
    "rec.reporter": ("报送方", "Reported by"),
    "rec.verify_link": ("验证收录", "verify inclusion"),
    "rec.lifted": ("已解除（{date}）：{reason}", "lifted on {date}: {reason}"),
    "rec.older": ("较早的记录 →", "Older records →"),
    "rec.newest": ("← 最新记录", "← Newest records"),
    "rec.pages": ("信用记录分页", "Pages of credit records"),
    "rec.page_title": ("信用记录 #{index}", "Credit record #{index}"),
    "rec.index": ("日志序号", "Log index"),
    "rec.at": ("时间", "Time"),
    "rec.subject": ("记录对象", "About"),
    "rec.event": ("来源事件", "Source event"),
    "rec.payload": ("记录内容", "Recorded fields"),
    "rec.payload_raw": ("以下为日志收录的字段名与取值（代码原文），其含义见上方说明。",
                        "The fields as logged, with their names and codes as written; the sentence above says "
                        "what they mean."),
    "head.title": ("签名树头", "Signed tree head"),
    "head.origin": ("日志名称", "Log origin"),
    "head.size": ("日志规模（记录数）", "Tree size (records)"),
    "head.root": ("根哈希", "Root hash"),
    "head.signed_at": ("签名时间", "Signed at"),
    "head.key_id": ("签名密钥编号", "Key id"),
    "head.signature": ("签名（Ed25519）", "Signature (Ed25519)"),
    "head.public_key": ("公钥", "Public key"),
    "head.note": ("被签名的文本", "Signed note"),
    "proof.title": ("收录证明", "Inclusion proof"),
    "proof.leaf": ("叶子哈希", "Leaf hash"),
    "proof.leaf_bytes": ("叶子内容（规范 JSON，base64）", "Leaf bytes (canonical JSON, base64)"),
    "proof.hashes": ("证明路径哈希（{n} 个）", "Proof hashes ({n})"),
    "proof.explain": ("浏览器核对叶子内容与本页记录逐项一致，用 SHA-256 算出叶子哈希，"
                      "按 RFC 9162 §2.1.3.2 逐级计算到根，并与签名树头中的根哈希比对。"
                      "公钥与本页来自同一服务器，请与另行公布的密钥编号核对。",
                      "Your browser checks that the leaf bytes are this record, field by field, hashes them with "
                      "SHA-256, recomputes the path to the root (RFC 9162 §2.1.3.2) and compares it with the root "
                      "in the signed tree head. The public key comes from the same server as this page: compare "
                      "its key id with the one published elsewhere."),
    "proof.explain_masked": ("本页隐去了该记录的部分字段（如认定方的密钥编号），日志收录的叶子含其原文，"
                             "故不公开叶子内容。服务器已由日志中的记录重算叶子并核对收录证明；浏览器取服务器给出的叶子哈希，"
                             "按 RFC 9162 §2.1.3.2 逐级计算到根，并与签名树头中的根哈希比对。"
                             "公钥与本页来自同一服务器，请与另行公布的密钥编号核对。",
                             "Some fields of this record are masked on this page (such as the key id of who decided); "
                             "the logged leaf holds them as written, so its bytes are not public. The server "
                             "recomputed the leaf from the logged record and checked the proof; your browser folds "
                             "the leaf hash the server gives up the path to the root (RFC 9162 §2.1.3.2) and "
                             "compares it with the root in the signed tree head. The public key comes from the same "
                             "server as this page: compare its key id with the one published elsewhere."),
    "proof.leaf_logged": ("以下叶子内容即日志收录的记录原文，上方“记录内容”与之逐项一致。",
                          "These leaf bytes are the record as logged; the recorded fields above are the same, "
                          "field by field."),
    "proof.leaf_withheld": ("不公开：日志收录的叶子含有本页隐去的字段原文。"
                            "监管部门与报送平台可经接口取得叶子内容并自行核对。",
                            "Not public: the logged leaf holds the fields this page masks. Regulators and the "
                            "reporting platform get the leaf bytes through the API and can check them."),
    "proof.partial": ("叶子已收录 ✓（记录与叶子的逐项核对由服务器完成）",
                      "leaf in the log ✓ (the server checked the record against its leaf)"),
    "proof.browser": ("浏览器验证", "Checked in your browser"),
    "proof.server": ("收录证明（服务器验证）", "Inclusion (checked by the server)"),
    "proof.server_ok": ("已通过 ✓（服务器在返回前已由记录重算叶子，并用签名根核对收录证明）",
                        "passed ✓ (the server recomputed the leaf from the record and checked it against the "
                        "signed root before serving it)"),
    "proof.server_fail": ("未通过 ✗（记录与日志收录的叶子不符，可能已被篡改）",
                          "failed ✗ (the record is not the leaf in the log: it may have been altered)"),
    "proof.server_sig": ("签名（服务器验证）", "Signature (checked by the server)"),
    "proof.server_sig_ok": ("已通过 ✓（服务器已用本节点公钥核对树头签名）",
                            "passed ✓ (the server checked the tree head's signature with this node's public key)"),
    "proof.server_sig_fail": ("未通过 ✗（树头签名与本节点公钥不符）",
                              "failed ✗ (the tree head's signature does not match this node's public key)"),
    "proof.pending": ("正在验证…", "Verifying…"),
    # shown until the page's script takes over: without it (blocked, not loaded) the rows said "verifying…" for
    # ever (found by review)
    "proof.unchecked": ("尚未在本浏览器中验证", "Not checked in this browser"),
    "proof.nojs": ("需要启用 JavaScript 才能在浏览器中验证。", "Enable JavaScript to verify in your browser."),
    "proof.ok": ("已验证 ✓", "verified ✓"),
    "proof.fail": ("验证失败 ✗", "failed ✗"),
    "proof.sig": ("签名验证（浏览器）", "Signature (in your browser)"),
    "proof.sig_unsupported": ("浏览器不支持 Ed25519，未验证签名", "not checked: this browser lacks Ed25519"),
    "proof.unsupported": ("未验证：此浏览器不支持 WebCrypto（请通过 HTTPS 打开本页）",
                          "not checked: this browser lacks WebCrypto (open this page over HTTPS)"),
    "proof.field.v": ("叶子版本", "leaf version"),
    "proof.field.leaf": ("叶子内容", "leaf"),
    # why the browser's check failed (static/verify.js reads them from the page)
    "proof.why.leaf": ("（页面所示记录与其叶子不符：{field}）", "(the record shown is not its leaf: {field})"),
    "proof.why.root": ("（算出的根哈希为 {root}，不是签名的根）", "(computed root {root}, not the signed one)"),
    "proof.why.json": ("（叶子内容不是 UTF-8 JSON）", "(the leaf bytes are not UTF-8 JSON)"),
    "proof.why.index": ("（日志序号不在树中）", "(the index is not in the tree)"),
    "proof.why.hash": ("（叶哈希、签名根或证明路径中的哈希不是 32 字节）",
                       "(the leaf hash, the signed root or a proof hash is not 32 bytes)"),
    "proof.why.long": ("（证明路径比到根的路径长）", "(the proof is longer than the path to the root)"),
    "proof.why.short": ("（证明路径比到根的路径短）", "(the proof is shorter than the path to the root)"),
    "proof.why.error": ("（浏览器未能完成验证）", "(the browser could not complete the check)"),
    "proof.why.note": ("（被签名的文本与所示树头不符）", "(the signed note is not the head shown)"),
    "proof.why.key": ("（密钥编号与公钥不符）", "(the key id is not the public key's)"),
    "proof.why.signature": ("（签名与公钥不符）", "(the signature does not match the public key)"),
    "error.title": ("出错了", "Something went wrong"),
    "error.404": ("没有找到您要的内容", "Not found"),
    "error.422": ("请求有误", "Invalid request"),
    "error.back": ("返回首页", "Back to the home page"),
    "error.generic": ("请求未能完成（{status}）。", "The request could not be completed ({status})."),
    "error.missing_source": ("缺少参数 source（报送来源）。", "The source parameter is missing."),
    "error.no_page": ("该页面不存在。", "There is no such page."),
    "yuan": ("¥{amount}", "¥{amount}"),
    "money.other": ("{currency} {amount}", "{currency} {amount}"),
    "money.minor_units": ("{amount}（{currency}，按最小货币单位计）", "{amount} ({currency}, in minor units)"),
    # who decided (present.decider): a role, never a key id
    "decider.regulator": ("监管部门", "regulator"),
    "decider.platform": ("平台", "platform"),
    "decider.logistics": ("物流企业", "logistics firm"),
    "decider.hotline": ("投诉热线", "complaints hotline"),
    "decider.policy": ("名单规则", "list policy"),
    "decider.chengxin": ("本系统", "this system"),
    "decider.named": ("{role}（{name}）", "{role} ({name})"),
    # what a record is about, when not a party or shop (record page)
    "subject.complaint": ("投诉", "complaint"),
    "subject.sanction": ("惩戒", "sanction"),
    # ordinary shop categories (key categories are named in vocab/key_categories.yaml); others show as sent
    "shopcat.clothing": ("服饰", "clothing"),
    "shopcat.electronics": ("数码", "electronics"),
    "shopcat.cosmetics": ("美妆", "cosmetics"),
    "shopcat.home": ("家居", "home"),
    "shopcat.appliances": ("家用电器", "home appliances"),
    "shopcat.furniture": ("家具", "furniture"),
    "shopcat.books": ("图书", "books"),
    "shopcat.stationery": ("文具", "stationery"),
    "shopcat.toys": ("玩具", "toys"),
    "shopcat.baby": ("母婴", "mother and baby"),
    "shopcat.sports": ("运动户外", "sports and outdoors"),
    "shopcat.shoes": ("鞋靴", "shoes"),
    "shopcat.bags": ("箱包", "bags"),
    "shopcat.jewellery": ("珠宝首饰", "jewellery"),
    "shopcat.pets": ("宠物用品", "pet supplies"),
    "shopcat.auto": ("汽车用品", "car accessories"),
    "follow_up": ("（追评）", " (follow-up)"),
    # party kinds
    "kind.enterprise": ("企业", "enterprise"),
    "kind.individual_business": ("个体工商户", "individual business"),
    "kind.person": ("自然人", "natural person"),
    "kind.platform": ("电子商务平台", "e-commerce platform"),
    "kind.logistics": ("物流企业", "logistics firm"),
    "kind.courier": ("快递员（自然人）", "courier (natural person)"),
    "kind.service_agency": ("服务机构", "service agency"),
    # record kinds
    "record.identity": ("身份登记", "identity"),
    "record.licence": ("证照公示", "licence"),
    "record.rating": ("评价", "rating"),
    "record.complaint": ("投诉", "complaint"),
    "record.complaint_outcome": ("投诉处理结果", "complaint outcome"),
    "record.commitment": ("信用承诺", "commitment"),
    "record.sanction": ("行政处罚/惩戒", "sanction"),
    "record.sanction_lifted": ("惩戒解除", "sanction lifted"),
    "record.inspection": ("监督检查", "inspection"),
    "record.points_retracted": ("评价计分撤回", "rating points taken back"),
    "record.points_restored": ("评价计分恢复", "rating points restored"),
    "record.suspected": ("疑似失信（待复核）", "suspected dishonesty (under review)"),
    "record.confirmed": ("经复核确认的失信行为", "dishonesty confirmed on review"),
    "record.dismissed": ("疑似失信经复核排除", "suspicion dismissed on review"),
    "record.list_entered": ("列入信用名单", "entered a credit list"),
    "record.list_left": ("移出信用名单", "left a credit list"),
    "record.commitment_breach": ("违反信用承诺", "credit commitment broken"),
    # record descriptions
    "desc.identity.verified": ("登记身份（{scheme}），实名核验通过", "Identity registered ({scheme}) and verified"),
    "desc.identity.unverified": ("登记身份（{scheme}），未实名核验", "Identity registered ({scheme}), not verified"),
    "desc.identity.invalid": ("登记身份（{scheme}）无效：{reason}",
                              "Identity registered ({scheme}) is invalid: {reason}"),
    "desc.licence": ("公示{label}，编号 {number}，有效期 {valid_from} 至 {valid_until}",
                     "Published {label}, number {number}, valid {valid_from} to {valid_until}"),
    "desc.rating.buyer_to_seller": ("买家给网店评分 {score}/5", "A buyer rated the shop {score}/5"),
    "desc.rating.seller_to_buyer": ("卖家给买家评分 {score}/5", "The seller rated a buyer {score}/5"),
    "desc.rating.buyer_to_carrier": ("买家给物流服务评分 {score}/5", "A buyer rated the delivery {score}/5"),
    "desc.complaint": ("经{channel}渠道投诉：{category}", "Complaint via {channel}: {category}"),
    "desc.complaint_outcome": ("投诉处理结果：{outcome}，赔偿 {compensation}",
                               "Complaint outcome: {outcome}, compensation {compensation}"),
    "desc.list_entered": ("列入{list}：{reason}（依据：{basis}），复核日期 {review_at}",
                          "Entered the {list}: {reason} (basis: {basis}), to be reviewed by {review_at}"),
    "desc.list_left": ("移出{list}：{reason}", "Left the {list}: {reason}"),
    # a breach by the template's clause number unless the merchant's own text carries the clause (public review 5)
    "desc.commitment_breach": ("违反信用承诺《{title}》标准文本第 {clause} 条（{clause_text}）：{penalty}",
                               "Broke clause {clause} of the standard text of the credit commitment "
                               "“{title}” ({clause_text}): {penalty}"),
    "desc.commitment_breach_own": ("违反信用承诺《{title}》第 {clause} 条（{clause_text}）：{penalty}",
                                   "Broke clause {clause} of the credit commitment “{title}” ({clause_text}): "
                                   "{penalty}"),
    "desc.commitment": ("作出信用承诺（{template}，原文共 {clauses} 条），有效期至 {valid_until}",
                        "Published a credit commitment ({template}, {clauses} clauses as published), valid until "
                        "{valid_until}"),
    "desc.sanction": ("{authority}作出{sanction_kind}（{category}），决定书 {decision_no}，"
                      "依据{legal_basis}，公示至 {disclose_until}",
                      "{authority} imposed a {sanction_kind} ({category}), decision {decision_no}, under "
                      "{legal_basis}; disclosed until {disclose_until}"),
    "desc.sanction_lifted": ("惩戒已解除：{reason}", "Sanction lifted: {reason}"),
    "desc.inspection": ("{authority}检查结论：{result}", "{authority} inspected: {result}"),
    "desc.points_retracted": ("订单 {order} 被认定为虚假交易，其评价的 {points} 分信用积分已撤回"
                              "（认定方：{decided_by}）",
                              "Order {order} was confirmed fake: its rating's {points} credit point(s) were taken "
                              "back (decided by {decided_by})"),
    "desc.points_restored": ("订单 {order} 经复核认定为真实交易，其评价的 {points} 分信用积分已恢复"
                             "（认定方：{decided_by}）",
                             "Order {order} was found genuine on review: its rating's {points} credit point(s) were "
                             "restored (decided by {decided_by})"),
    "desc.suspected": ("自动检测发现疑似{finding}（机器评分 {score}）{evidence}，待人工复核，未作任何处理",
                       "Automated detection suspects {finding} (machine score {score}){evidence}; awaiting review, "
                       "nothing is done on it"),
    "desc.confirmed": ("经人工复核确认：{finding}（机器评分 {score}）{evidence}。理由：{reason}；依据：{basis}"
                       "（认定方：{decided_by}）",
                       "Confirmed on review: {finding} (machine score {score}){evidence}. Reason: {reason}; "
                       "basis: {basis} (decided by {decided_by})"),
    "desc.dismissed": ("疑似{finding}经人工复核排除。理由：{reason}（认定方：{decided_by}）",
                       "Suspected {finding} dismissed on review. Reason: {reason} (decided by {decided_by})"),
    "evidence.tells": ("；迹象：{tells}", "; signs: {tells}"),
    "evidence.flagged": ("；{flagged}/{parcels} 件包裹异常（{share}）",
                         "; {flagged} of {parcels} parcels flagged ({share})"),
    "evidence.orders": ("；涉及 {n} 笔订单", "; {n} order(s) concerned"),
    "rec.confirmed_note": ("“经复核确认的失信行为”由自动检测发现、再经监管部门或报送平台人工复核确认，"
                           "并写明理由与依据；仅有机器评分的疑似记录不公示，也不影响信用积分与评分。",
                           "“Dishonesty confirmed on review” was found by automated detection and then confirmed by a "
                           "regulator or the reporting platform, who gave a reason and basis; suspicions resting on a "
                           "machine score alone are not published and change no points or score."),
    "finding.empty_parcel": ("空包裹代发", "empty parcels"),
    "finding.fake_order_ring": ("刷单炒信团伙", "a fake-order ring"),
    "finding.malicious_review": ("恶意评价", "malicious reviews"),
    "finding.template_review": ("模板化评价", "templated reviews"),
    "finding.fake_traffic": ("虚假流量", "fake traffic"),
    "finding.price_fraud": ("价格欺诈", "price fraud"),
    "finding.not_as_described": ("货不对板或假冒", "goods not as described or counterfeit"),
    "finding.payment_fraud": ("支付欺诈", "payment fraud"),
    "tell.light": ("重量远低于货品", "far lighter than the goods"),
    "tell.no_transit": ("无中转扫描", "no transit scans"),
    "tell.too_fast": ("运输快得不合常理", "impossibly fast transit"),
    "tell.signed_far": ("签收地远离收货地", "signed far from the address"),
    "tell.delivered_at_origin": ("在发货地签收", "signed at the origin"),
    "tell.shared_tracking": ("运单号重复使用", "tracking number reused"),
    "level.order": ("单笔订单", "one order"),
    "level.shop": ("网店", "the shop"),
    "level.courier": ("快递员", "a courier"),
    "level.carrier": ("物流企业", "a carrier"),
    "cause.verdict": ("虚假交易认定", "fake-order verdict"),
    "desc.other": ("{kind}：{payload}", "{kind}: {payload}"),
    "outcome.upheld": ("投诉成立", "upheld"),
    "outcome.partly_upheld": ("部分成立", "partly upheld"),
    "outcome.rejected": ("不成立", "rejected"),
    "outcome.withdrawn": ("已撤回", "withdrawn"),
    "sanction_kind.administrative_penalty": ("行政处罚", "administrative penalty"),
    "sanction_kind.abnormal_operation": ("列入经营异常名录", "abnormal-operation listing"),
    "sanction_kind.serious_dishonesty": ("列入严重失信主体名单", "serious-dishonesty listing"),
    "sanction_kind.platform_measure": ("平台处置措施", "platform measure"),
    "lifted.repaired": ("已完成信用修复", "credit repaired"),
    "lifted.expired": ("公示期满", "disclosure period ended"),
    "lifted.revoked": ("原决定被撤销", "decision revoked"),
    "result.pass": ("合格", "passed"),
    "result.issues_found": ("发现问题", "issues found"),
    "result.violation": ("存在违法行为", "violation found"),
    "category.counterfeit": ("假冒伪劣", "counterfeit goods"),
    "category.not_as_described": ("货不对板", "not as described"),
    "category.price_fraud": ("价格欺诈", "price fraud"),
    "category.false_advertising": ("虚假宣传", "false advertising"),
    "category.service_breach": ("违反服务承诺", "service breach"),
    "category.delivery": ("物流配送", "delivery"),
    "category.privacy": ("侵犯个人信息", "privacy breach"),
    "category.intimidation": ("威胁恐吓", "intimidation"),
    "category.fake_review": ("虚假评价", "fake reviews"),
    "category.other": ("其他", "other"),
    "category.fake_order": ("虚假交易（刷单）", "fake orders"),
    "category.empty_parcel": ("空包", "empty parcels"),
    "category.fake_traffic": ("虚假流量", "fake traffic"),
    "channel.platform": ("平台", "the platform"),
    "channel.portal": ("本网站", "this portal"),
    # a risk notice's act also broke a published commitment (services/notices.py `breaches`)
    "notices.broke": ("另违反信用承诺《{commitment}》标准文本第 {clause} 条：{text}",
                      "Also broke the credit commitment “{commitment}”, clause {clause} of its standard text: "
                      "{text}"),
    "notices.broke_own": ("另违反信用承诺《{commitment}》第 {clause} 条：{text}",
                          "Also broke the credit commitment “{commitment}”, clause {clause}: {text}"),
}

_PAIRS.update(LIST_PAIRS)
_PAIRS.update(ENTITY_PAIRS)
_PAIRS.update(SEARCH_PAIRS)

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {k: v[0] for k, v in _PAIRS.items()},
    "en": {k: v[1] for k, v in _PAIRS.items()},
}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "–"


@dataclass(frozen=True)
class Translator:
    """Messages of one language, callable from templates as `t("key", **fields)`."""

    lang: str

    def __call__(self, key: str, **fields: Any) -> str:
        text = MESSAGES[self.lang].get(key, key)
        return Formatter().vformat(text, (), _Lenient(fields)) if fields else text

    def has(self, key: str) -> bool:
        return key in MESSAGES[self.lang]

    def label(self, prefix: str, value: Any) -> str:
        """The label of an enumeration value, or the raw value when the catalogue has none."""
        key = f"{prefix}.{value}"
        return MESSAGES[self.lang].get(key, str(value))

    @property
    def html_lang(self) -> str:
        return HTML_LANG[self.lang]

    @property
    def other(self) -> str:
        return "en" if self.lang == "zh" else "zh"


def pick_lang(query_value: str | None, cookie_value: str | None) -> str:
    """`?lang=` wins, then the cookie, then zh-CN."""
    for value in (query_value, cookie_value):
        if value in LANGS:
            return value
    return DEFAULT_LANG
