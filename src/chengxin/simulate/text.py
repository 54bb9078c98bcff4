"""Vocabulary of the simulated marketplace: categories, names, review and complaint texts.

Honest review texts are composed from fragments, so that they vary the way real ones do; planted
template reviews are near-copies of one text, which is what template detection looks for.
"""

from __future__ import annotations

# (category, trade word, weight, price range in fen, typical parcel weight range in g,
#  product nouns, licence it requires, conversion rate visits -> orders)
CATEGORIES = (
    ("food", "食品", 20, (990, 19900), (300, 2500), ("坚果礼盒", "挂耳咖啡", "牛肉干", "蜂蜜", "月饼", "茶叶"),
     "food_business", 0.04),
    ("daily_goods", "日用品", 24, (590, 9900), (200, 3000), ("毛巾 三条装", "洗衣液", "抽纸 12包", "保温杯", "收纳盒"),
     None, 0.035),
    ("clothing", "服饰", 20, (2990, 59900), (200, 1500), ("纯棉T恤", "牛仔裤", "羽绒服", "运动鞋", "连衣裙"),
     None, 0.02),
    ("electronics", "数码", 12, (1990, 299900), (100, 3000), ("蓝牙耳机", "充电宝", "数据线", "机械键盘", "平板电脑"),
     None, 0.015),
    ("farm_produce", "农产品", 8, (1990, 15900), (1000, 6000), ("赣南脐橙 5kg", "五常大米", "土鸡蛋 30枚", "冬枣"),
     None, 0.045),
    ("cosmetics", "美妆", 8, (2990, 39900), (100, 600), ("保湿面霜", "口红", "防晒霜", "洗面奶"), None, 0.03),
    ("medical_device", "医疗器械", 4, (1590, 49900), (100, 1500), ("电子体温计", "血压计", "医用口罩"),
     "medical_device_business", 0.025),
    ("drug", "医药", 3, (990, 9900), (50, 400), ("维生素C片", "布洛芬缓释胶囊", "板蓝根颗粒"), "drug_business", 0.03),
    ("farm_input", "农资", 1, (4990, 29900), (1000, 50000), ("复合肥 50kg", "蔬菜种子", "滴灌带"), None, 0.02),
)
CAT_TABLE = tuple(i for i, c in enumerate(CATEGORIES) for _ in range(c[2]))  # weighted draw by index
LICENCE_PREFIX = {"food_business": "JY1", "drug_business": "YPJY", "medical_device_business": "YLQX"}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰桂芬建国志红宇浩然子涵欣怡梓萱晨阳"
BRANDS = ("鑫源", "恒信", "佳禾", "优品", "百味", "康泰", "锦程", "禾丰", "悦家", "云创", "盛达", "良田",
          "安和", "青禾", "森活", "金穗", "尚品", "顺意", "乐享", "朗月")
SHOP_SUFFIX = ("旗舰店", "专营店", "小店", "官方店", "工厂店")
CLAUSES = ("依法经营，信息真实", "七天无理由退货", "不刷单炒信，不恶意评价", "违法失信自愿接受约束和惩戒")

GOOD = ("质量很好", "物流很快", "包装完好", "客服态度好", "性价比高", "会回购", "和描述一致", "家人很喜欢",
        "做工精细", "发货及时", "味道不错", "尺码标准", "已经第二次买了", "值得推荐")
MIXED = ("一般般", "还可以", "物流有点慢", "包装简陋", "凑合用", "和图片略有差距")
BAD = ("质量差", "与描述不符", "做工粗糙", "客服不理人", "物流太慢", "包装破损", "用了两天就坏了", "不推荐",
       "感觉是假货", "味道不对")
FOLLOW_GOOD = ("用了一段时间，依然满意", "追评：质量经得起考验", "回购了，好评")
FOLLOW_BAD = ("追评：用了几天出问题了", "追评：联系客服没人处理")

# Planted templates: near-copies, a character or punctuation changed per use.
RING_TEMPLATES = ("宝贝收到了，质量非常好，物流超快，卖家服务态度一级棒，五星好评！",
                  "东西很好，和描述的一模一样，包装严实，下次还来，推荐购买！",
                  "非常满意的一次购物，性价比超高，已经推荐给朋友了，好评！")
SABOTAGE_TEMPLATES = ("质量太差了，收到就是坏的，客服也不处理，大家千万别买！",
                      "假货，和描述完全不一样，差评，强烈不推荐！")
EXTORTION_TEXT = "东西有严重问题，差评，不给说法就一直投诉"
VARIANTS = ("", "！", "。", "~", "!!", "👍")

COMPLAINT_TEXT = {
    "not_as_described": "收到的商品与页面描述不符，要求退款",
    "counterfeit": "怀疑商品为假冒产品，要求处理",
    "service_breach": "商家拒绝履行七天无理由退货",
    "delivery": "显示已签收但本人未收到包裹",
    "price_fraud": "先涨价后打折，价格欺诈",
    "false_advertising": "宣传与实际不符",
    "other": "要求平台处理",
}
RETURN_BY_FLAW = {"quality": ("quality", "damaged"), "not_as_described": ("not_as_described",),
                  "counterfeit": ("counterfeit",)}
