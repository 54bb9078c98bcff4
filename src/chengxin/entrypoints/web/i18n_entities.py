"""Portal messages (zh, en) for who reported a party and who verified it, record pages in plain words and the
link without a source; merged into `i18n.MESSAGES`. Public review findings 2, 6, 10 and 11."""

from __future__ import annotations

PAIRS: dict[str, tuple[str, str]] = {
    # a regulator source is named by the region it serves (its code is a region code); its own name is not sent
    "reporter.regulator_named": ("{region}市场监管部门", "market regulator of {region}"),
    "reporter.unknown_source": ("其他报送方", "another reporter"),
    "reporter.sep": ("、", ", "),
    # one legal entity (one USCC) reported by several reporters: one mark, and each report's own state explained
    "entity.title": ("身份核验与报送方", "Identity check and reporters"),
    "entity.intro": ("同一经营主体（同一统一社会信用代码）由以下 {n} 个报送方分别报送，"
                     "每个报送方各自决定是否进行实名核验：",
                     "This business (one unified social credit code) is reported by {n} reporter(s); each decides "
                     "for itself whether to check the identity:"),
    "entity.verified_by": ("已由{who}实名核验", "Identity verified by {who}"),
    "entity.none_verified": ("尚无报送方实名核验该经营主体", "No reporter has verified this business's identity"),
    "entity.invalid_by": ("{who}报送的身份信息无效", "{who} reported identity details that are not valid"),
    "entity.others_unverified": ("{who}的报送未附实名核验结果。"
                                 "这不表示核验未通过：该报送方没有核验，或没有报送核验结果。",
                                 "{who} reported it without an identity check. That does not mean a check failed: "
                                 "this reporter did not check, or did not report a check."),
    "entity.row.verified": ("已实名核验", "verified the identity"),
    "entity.row.unverified": ("未报送实名核验结果（不等于核验未通过）",
                              "reported no identity check (not a failed check)"),
    "entity.row.invalid": ("所报身份信息无效", "reported identity details that are not valid"),
    "entity.reporter": ("报送方", "Reporter"),
    "entity.state": ("核验情况", "Identity check"),
    "entity.verified_at": ("（{at}）", " ({at})"),
    # a record page names what it is about, and says who decided, in words
    "rec.subject_link": ("{name}", "{name}"),
    "rec.technical": ("技术细节（供专业人员核对）", "Technical details (for experts)"),
    "rec.technical_note": ("以下为日志收录的原始字段名与取值、来源事件编号；上方“记录内容”是其通俗说明。",
                           "The fields as logged (names and codes) and the source event's id; “What was recorded” "
                           "above says the same in words."),
    "rec.plain_title": ("记录内容", "What was recorded"),
    "rec.plain_none": ("该记录没有可单独说明的字段，其内容见上方说明。",
                       "This record has no fields to explain separately; see the sentence above."),
    "rec.reported_by": ("报送方", "Reported by"),
    "field.basis": ("依据", "Basis"),
    "field.legal_basis": ("法律依据", "Legal basis"),
    "field.decided_by": ("认定方", "Decided by"),
    "field.finding_kind": ("失信行为类型", "Kind of dishonesty"),
    "field.orders": ("涉及订单数", "Orders involved"),
    "field.reason": ("理由", "Reason"),
    "field.score": ("评分", "Score"),
    "field.machine_score": ("自动检测评分（0–1）", "Detector score (0–1)"),
    "field.authority": ("作出决定的机关", "Authority"),
    "field.decision_no": ("决定书文号", "Decision number"),
    "field.sanction_kind": ("惩戒类型", "Kind of sanction"),
    "field.category": ("类别", "Category"),
    "field.disclose_until": ("公示截止", "Disclosed until"),
    "field.licence_type": ("证照类型", "Licence"),
    "field.number": ("编号", "Number"),
    "field.issuer": ("发证机关", "Issued by"),
    "field.valid_from": ("有效期起", "Valid from"),
    "field.valid_until": ("有效期至", "Valid until"),
    "field.channel": ("投诉渠道", "Channel"),
    "field.outcome": ("处理结果", "Outcome"),
    "field.compensation": ("赔付金额", "Compensation"),
    "field.result": ("检查结果", "Result"),
    "field.list": ("名单", "List"),
    "field.review_at": ("复核日期", "Review date"),
    "field.points": ("积分", "Points"),
    "field.clauses": ("承诺条款数", "Clauses"),
    # a link without its reporter (`/shops/S1`): where to go instead
    "pick.title": ("链接不完整", "This link is incomplete"),
    "pick.lead": ("链接中缺少报送方，请从下列同编号的网店或主体中选择，或从首页搜索进入。",
                  "The link does not say who reported it. Choose below among those with this id, or search "
                  "from the home page."),
    "pick.none": ("没有编号为“{id}”的网店或主体。请从首页搜索进入。",
                  "There is no shop or party with the id “{id}”. Please search from the home page."),
    "pick.shop": ("网店", "shop"),
    "pick.party": ("经营主体", "business or person"),
    "pick.reported_by": ("报送方：{who}", "reported by {who}"),
    # the in-browser check of a record whose leaf is not public (proof.partial: a state of its own, not "verified")
    "proof.partial_label": ("部分验证：收录已在浏览器中验证，记录内容由服务器核对",
                            "Partly verified: inclusion verified in your browser; the content was checked by "
                            "the server"),
    "proof.partial_why": ("该记录含有隐去的字段，其叶子内容不公开，浏览器只能核对服务器给出的叶子哈希已收录于签名日志，"
                          "无法自行核对本页所示内容与日志一致。",
                          "This record has masked fields, so its leaf is not public: your browser could only check "
                          "that the leaf hash the server gave is in the signed log, not that the content shown is "
                          "what was logged."),
    "proof.partial_result": ("部分验证 ◐ 浏览器已验证收录；记录内容未在浏览器中核对（由服务器核对）",
                             "partly verified ◐ inclusion checked in your browser; the content was not (the server "
                             "checked it)"),
    "proof.full_label": ("内容与收录均已在浏览器中验证", "Content and inclusion verified in your browser"),
}
