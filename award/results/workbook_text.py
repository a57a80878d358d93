"""The results workbook's words: Traditional Chinese sheet names, headers, labels and the method
descriptions. These are data of the workbook (an auditor reads them in Excel), not web UI strings,
so they are not gettext msgids; each carries an English comment.
"""

from __future__ import annotations

# Font that renders Traditional Chinese in Excel on Windows and macOS (微軟正黑體); LibreOffice
# substitutes its CJK fallback (e.g. Noto Sans CJK) where it is missing.
FONT_NAME = "Microsoft JhengHei"
FONT_CHARSET = 136  # CHINESEBIG5_CHARSET

# --- sheet names, in workbook order --------------------------------------------------------------
SHEET_SUMMARY = "摘要"  # summary
SHEET_RANKING = "各組排名"  # ranking by category
SHEET_MARKS = "評分明細"  # every mark, with formulas
SHEET_AGREEMENT = "評分一致性"  # agreement statistics, leniency, flags
SHEET_DISTRIBUTION = "參獎機關分布"  # participation and winners by county/city and geography
SHEET_CEREMONY = "頒獎典禮名單"  # ceremony run sheet
SHEET_AUDIT = "稽核摘要"  # audit summary
SHEETS = (SHEET_SUMMARY, SHEET_RANKING, SHEET_MARKS, SHEET_AGREEMENT, SHEET_DISTRIBUTION, SHEET_CEREMONY,
          SHEET_AUDIT)

# --- headers --------------------------------------------------------------------------------------
SUMMARY_HEADERS = ("項目", "內容")  # item, content
RANKING_HEADERS = ("組別", "名次", "參獎機關", "作品名稱", "總分", "獎項等第", "縣市", "地理區分", "機關代碼",
                   "作品編號", "評審人數", "最高最低差", "備註")
# category, rank, agency, entry title, total, tier, county/city, geography class, agency code, entry
# number, judges, spread (highest minus lowest judge total), note

# 評分明細 (marks): identification columns, then one column per criterion, then the figures.
MARKS_ID_HEADERS = ("組別", "作品編號", "參獎機關", "作品名稱", "列別", "評審")
# category, entry number, agency, entry title, row kind, judge
CRITERION_HEADER = "面向{n}"  # criterion n (the category's 評核面向 row names it)
H_TOTAL = "加權總分"  # weighted total (Excel formula)
H_EXACT = "加權總分（未四捨五入）"  # weighted total before rounding (formula; total-level trimming sorts on it)
H_WEIGHT = "納入權數"  # weight of the judge's sheet in the panel result (0 = dropped)
H_ENGINE = "系統計算值"  # the scoring engine's figure
H_RANK = "名次"  # rank
H_TIER = "獎項等第"  # tier
H_TRIMMED = "刪除標記"  # trimmed-cell marker
H_NOTE = "說明"  # note

ROW_CRITERIA = "評核面向"  # the criteria's names
ROW_WEIGHT = "權重"  # weights (points of the category total)
ROW_MAX = "滿分"  # highest mark of each criterion
ROW_JUDGE = "評審"  # one judge's sheet
ROW_PANEL = "評審團結果"  # the panel's result for the entry
ROW_ERROR = "無法排名"  # the category could not be ranked

AGREEMENT_HEADERS = ("組別", "分析項目", "對象", "指標", "數值", "判讀")
# category, analysis, subject, statistic, value, reading
DISTRIBUTION_HEADERS = ("分類", "縣市或地理區分", "參獎機關數", "參獎件數", "得獎件數")
# grouping, county/city or geography class, agencies, entries, winning entries (then one column per tier)
DISTRIBUTION_RATE = "得獎率"  # share of entries that won a tier
CEREMONY_HEADERS = ("順序", "組別", "獎項等第", "名次", "參獎機關", "機關首長", "作品名稱", "獎座／獎狀文字",
                    "縣市", "作品編號")
# order, category, tier, rank, agency, head of agency, entry title, trophy/certificate text, county, entry number
AUDIT_HEADERS = ("類別", "項目", "代碼", "數量", "說明")  # kind, item, code, count, note

# --- 摘要 (summary) labels -------------------------------------------------------------------------
STATUS_LABEL = "結果狀態"  # status of the results
LABEL_WARNING = "注意"  # warning
STATUS_FROZEN = "正式結果（已凍結）"  # official results (frozen)
STATUS_PROVISIONAL = "暫定結果（未凍結）"  # provisional results (not frozen)
PROVISIONAL_WARNING = "本檔為暫定結果，成績尚未凍結，不得作為正式公布之依據。"
# This file holds provisional results; they are not frozen and must not be published as official.
LIVE_DIFFERS = "注意：資料庫目前之即時結果與凍結快照不一致，本檔依凍結快照製作。"
# Warning: the live results differ from the frozen snapshot; this file follows the snapshot.
LABEL_EDITION = "屆次"  # edition
LABEL_YEAR = "年度"  # year
LABEL_STAGE = "評選階段"  # stage
LABEL_METHOD = "成績計算方式"  # aggregation method
LABEL_TRIM = "刪除極端分數"  # trimming
LABEL_ROUNDING = "四捨五入規則"  # rounding policy
LABEL_DECIMALS = "小數位數"  # decimals
LABEL_TIE_BREAK = "同分處理"  # tie-break
LABEL_TOO_FEW = "評審人數不足時"  # too few judges to trim
LABEL_TIERS = "獎項等第"  # tiers
LABEL_COUNTS = "件數統計"  # counts
LABEL_CATEGORY = "組別「{name}」"  # category "name"
LABEL_HASH = "凍結快照雜湊值（SHA-256）"  # snapshot hash
LABEL_HASH_NOTE = "雜湊值說明"  # about the hash
LABEL_FROZEN_AT = "凍結時間"  # frozen at
LABEL_EXPORTED_AT = "匯出時間"  # exported at
LABEL_EXPORTED_BY = "匯出者"  # exported by
LABEL_CHAIN = "稽核鏈驗證"  # audit-chain verification
LABEL_FORMULAS = "公式說明"  # about the formulas
LABEL_CHECK = "公式重算核對"  # formula recomputation check
LABEL_TRIM_MARKS = "刪除標記說明"  # about the trimmed-cell markers
NO_HASH = "—（暫定結果，無凍結快照雜湊值）"  # none (provisional results have no snapshot hash)
HASH_NOTE = ("雜湊值為凍結時成績資料（含計算方式、每一筆評分與排名，以標準化 JSON 表示）之 SHA-256；"
             "系統保存該快照，任何更動都會使雜湊值不同。")
# The hash is the SHA-256 of the frozen results (method, every mark and the ranking, as canonical
# JSON); the system keeps that snapshot and any change gives a different hash.
TAIPEI_TIME = "{time}（臺北時間）"  # time (Taipei time)
COUNTS_TEXT = "{categories} 組；已排名作品 {entries} 件；未評分作品 {unranked} 件；評審 {judges} 位；評分 {marks} 筆"
# categories; ranked entries; unscored entries; judges; marks
CATEGORY_TEXT = "已排名 {entries} 件，評審 {judges} 位，評分 {marks} 筆"  # ranked entries, judges, marks
CATEGORY_ERROR = "無法排名：{error}"  # cannot be ranked: error
# the engine's refusals by kind (payload "error_detail"); any other kind shows the engine's message
ENGINE_ERRORS = {
    # entry #N has marks from J judges, but trimming needs at least K
    "too_few_judges": "參獎案 #{entry} 只有 {judges} 位委員的評分，去除極端分數至少需要 {needed} 位",
    # judges and entries fall into N groups sharing no judge
    "disconnected": "委員與參獎案分成 {parts} 組，彼此沒有共同的委員，無法校正寬嚴",
    # entry #N lacks marks this method needs
    "incomplete": "參獎案 #{entry} 缺少此計分方法所需的評分",
}
CHAIN_OK = "通過：共 {count} 筆稽核事件，雜湊鏈完整（{message}）"  # passed: n events, chain intact
CHAIN_BROKEN = "未通過：{message}（共檢查 {count} 筆）"  # failed: message (n checked)
CHAIN_UNKNOWN = "未執行"  # not run
FORMULAS_TEXT = ("「評分明細」工作表以 Excel 公式重算：每位評審之加權總分 = Σ 分數 × 權重 ÷ 滿分；評審團結果依本階段"
                 "計算方式以公式表示。公式先以 ROUND(…,9) 去除二進位浮點誤差（與系統相同），再依設定之小數位數"
                 "四捨五入（ROUND 為四捨五入，與系統相同）。「系統計算值」欄為系統之計算結果，供對照。")
# The 評分明細 sheet recomputes with Excel formulas: each judge's weighted total = Σ mark × weight ÷
# maximum; the panel result follows the stage's method in formulas. Formulas first round to 9
# decimals to remove binary floating-point noise (as the engine does), then round half up to the
# configured decimals. The 系統計算值 column is the engine's figure, for comparison.
FORMULAS_NOT_EXPRESSIBLE = ("本階段計算方式（{method}）無法以 Excel 公式表示：評審團各面向分數與總分填入系統計算值；"
                            "每位評審之加權總分仍以公式計算。")
# The stage's method cannot be expressed in Excel formulas: the panel figures are the engine's
# values; each judge's weighted total is still a formula.
CHECK_TEXT = "↑ 公式結果與系統計算值不一致之列數（應為 0）"  # rows where formula and engine differ (should be 0)
TRIM_MARKS_TEXT = ("被刪除（未納入評審團結果）之分數以橘色底色標示，並於「刪除標記」欄註明；同分位於刪除界線時，"
                   "同分之評審平均分攤納入權數，亦一併標示。")
# Marks left out of the panel result are shaded orange and named in the 刪除標記 column; judges
# tied at the cut share the kept places equally and are marked too.

# --- method descriptions ---------------------------------------------------------------------------
METHOD_NAMES = {
    "mean": "平均",  # mean
    "trimmed": "截尾平均",  # trimmed mean
    "median": "中位數",  # median
    "zscore": "標準分數（Z 分數）校正",  # z-score standardisation
    "bias": "評審寬嚴校正（最小平方法）",  # judge leniency model (least squares)
}
METHOD_TEXT = {
    "mean": "平均：各面向取所有評審分數之平均，乘以權重後加總。",
    # mean of every judge's mark on each criterion, weighted and summed
    "trimmed_criterion": "截尾平均（各面向）：每一面向去掉最高與最低各 {trim} 個分數後取平均，乘以權重後加總。",
    # per criterion: drop the N highest and N lowest marks, average the rest, weight and sum
    "trimmed_total": ("截尾平均（總分）：依各評審之加權總分排序，去掉最高與最低各 {trim} 位評審後，"
                      "以其餘評審之分數平均（即去掉最高分與最低分）。"),
    # per total: rank the judges by weighted total, drop the N highest and N lowest judges, average the rest
    "median_criterion": "中位數（各面向）：每一面向取評審分數之中位數（偶數位時取中間兩數平均），乘以權重後加總。",
    # per criterion median (mean of the middle two when even)
    "median_total": "中位數（總分）：取加權總分居中之評審（偶數位時取中間兩位之平均）之分數。",
    # the marks of the median judge by total (mean of the middle two when even)
    "zscore": ("標準分數校正：每位評審於每一面向之分數轉換為 Z 分數（以該評審之平均與標準差），"
               "取平均後換回面向之分數尺度，乘以權重後加總。"),
    # z-scores per judge and criterion, averaged, mapped back to the criterion's scale
    "bias": "評審寬嚴校正：以最小平方法估計每位評審之寬嚴偏移（偏移總和為 0），扣除後取得作品分數，乘以權重後加總。",
    # least squares estimate of each judge's offset (summing to 0), removed from the marks
}
TRIM_NONE = "不適用"  # not applicable
TRIM_TEXT = "最高與最低各 {trim} 個（{level}）"  # N highest and N lowest (level)
TRIM_LEVELS = {"criterion": "各面向分別刪除", "total": "依評審加權總分整份刪除"}
# per criterion; whole sheets by the judge's weighted total
ROUNDING_FINAL = "僅於最後總分四捨五入至小數 {d} 位（計算過程為精確值）。"
# only the final total is rounded half up to d decimals (exact arithmetic before)
ROUNDING_EACH = ("兩階段四捨五入：各面向評審團分數先四捨五入至小數 {d} 位，乘以權重÷滿分後再四捨五入至小數 {d} 位，"
                 "最後加總。")
# two-stage: each panel mark rounded to d decimals, each weighted contribution rounded to d, then summed
TIE_BREAK_NONE = "總分相同者名次並列（例：1、2、2、4），不另比序。"
# equal totals share the rank (1, 2, 2, 4); no tie-break
TIE_BREAK_INTRO = "總分相同時依序比較："  # when totals are equal, compare in turn:
TIE_BREAK_RULES = {
    "criterion": "面向「{name}」之評審團分數較高者優先",  # higher panel mark on the criterion
    "median": "評審加權總分之中位數較高者優先",  # higher median of the judges' totals
    "spread": "評審加權總分最高最低差較小者優先（評審意見較一致）",  # smaller spread (more agreement)
}
TIE_BREAK_REST = "；仍相同者名次並列。"  # still equal: shared rank
TOO_FEW = {
    "error": "不予計算（須補足評審）",  # refuse (more judges needed)
    "mean": "改採平均",  # fall back to the mean
}
TIER_TEXT = "{name}：{rule}"  # tier: rule
TIER_MIN = "總分 {min} 分以上"  # total at least
TIER_QUOTA = "名額 {quota} 名"  # quota places
TIER_ANY = "其餘作品"  # every remaining entry
TIER_JOIN = "、"  # list separator

# --- 評分明細 notes -----------------------------------------------------------------------------------
TRIMMED_ALL = "整份刪除（見納入權數）"  # whole sheet left out (see the weight column)
TRIMMED_SOME = "刪除：{criteria}"  # trimmed: criteria
NOTE_ENGINE_VALUE = "此計算方式無法以 Excel 公式表示，填入系統計算值"  # not expressible: engine value
NOTE_PANEL = "評審團結果為公式；「系統計算值」為系統之總分"  # panel result is a formula; engine total beside it
NOTE_NO_ENGINE = "本組無法排名，無系統計算值"  # no engine figure (category not ranked)

# --- 各組排名 notes -----------------------------------------------------------------------------------
NOTE_UNRANKED = "未評分（無評審評分）"  # not scored
NOTE_TIED = "同分並列"  # tied
NOTE_FALLBACK = "評審人數不足以刪除極端分數，改採平均"  # too few judges to trim: the mean was used
TOO_FEW_NOT_APPLICABLE = "不適用（未刪除極端分數）"  # not applicable (nothing is trimmed)
PRINT_HASH = "快照 SHA-256：{hash}"  # snapshot SHA-256 (page header/footer)

# --- geography and participation ---------------------------------------------------------------------
GEOGRAPHY = {"outlying_island": "離島", "remote": "偏遠", "main_island": "本島"}
# outlying island, remote, main island
GROUP_COUNTY = "縣市"  # county/city
GROUP_GEOGRAPHY = "地理區分"  # geography class
GROUP_TOTAL = "合計"  # total
UNKNOWN_COUNTY = "（未填）"  # (not given)
CHART_COUNTY_TITLE = "各縣市參獎與得獎件數"  # entries and winners by county/city
CHART_GEOGRAPHY_TITLE = "各地理區分參獎與得獎件數"  # entries and winners by geography class
CHART_AXIS_COUNT = "件數"  # entries
DISTRIBUTION_UNRANKED = "另有未評分作品 {n} 件（無機關資料），未計入本表。"
# n unscored entries (no agency data in the results) are not counted here

# --- 評分一致性 -----------------------------------------------------------------------------------------
A_AGREEMENT = "評分一致性"  # agreement
A_JUDGE = "評審寬嚴"  # per-judge leniency
A_INFLUENCE = "評審影響力（排除一位評審）"  # influence (leave one judge out)
A_FLAG = "偏好旗標"  # favouritism flag
A_CONFIDENCE = "名次信賴度（自助法）"  # rank confidence (bootstrap)
A_SETTINGS = "分析設定"  # settings
A_ERROR = "無法計算"  # could not be computed
SCOPE_TOTAL = "加權總分"  # weighted totals
SCOPE_CRITERION = "面向：{name}"  # criterion: name
S_N = "完整評分作品數／評審數"  # entries marked by every judge / judges
S_KENDALL_W = "Kendall's W（和諧係數）"
S_KENDALL_P = "Kendall's W 之 p 值"
S_ICC21 = "ICC(2,1)（單一評審信度）"  # reliability of one judge
S_ICC2K = "ICC(2,k)（評審團平均信度）"  # reliability of the panel average
S_ALPHA = "Krippendorff's α（區間）"
S_J_N = "評分作品數"  # entries marked
S_J_MEAN = "平均加權總分"  # mean total
S_J_LENIENCY = "寬嚴度（與其他評審平均之差，分）"  # leniency (points above the others' mean)
S_J_OFFSET = "寬嚴偏移（最小平方法，分）"  # offset (bias model, points)
S_J_SPREAD = "總分標準差"  # SD of the judge's totals
S_J_RATIO = "標準差比（相對於評審平均）"  # spread ratio
S_J_CORR = "與其他評審平均之相關係數"  # correlation with the others' mean
S_INF_CHANGES = "排除後名次或獎項變動件數"  # rank or tier changes without the judge
S_FLAG_Z = "z 值"  # z
S_CONF_INTERVAL = "{level:.0%} 名次區間"  # rank interval at the level
S_CONF_MEDIAN = "名次中位數"  # median rank
S_CONF_TOPK = "進入前 {k} 名機率"  # probability of the top k
S_CONF_TIER = "獲「{tier}」機率"  # probability of the tier
S_BOOTSTRAP = "自助法重抽次數（有效／設定）"  # bootstrap resamples (valid / requested)
S_SEED = "亂數種子"  # seed
S_THRESHOLD = "偏好旗標門檻 |z|"  # favouritism threshold
NOT_COMPUTED = "未計算"  # not computed
NO_FLAGS = "無偏好旗標"  # no flags
NO_CHANGES = "無變動"  # no change
# the engine's notes by code (scoring.diagnostics Agreement/Influence ``note_code``); others as given
NOTES = {
    "no_variation": "Kendall's W 或 ICC 無法計算：各委員皆有評分的參獎案，總分差異過小",  # too little variation
    "no_complete_block": "Kendall's W 與 ICC 需至少 2 件參獎案由每位委員評分",  # needs a complete block
    "unrankable": "少了這位委員，參獎案無法排名（剩下的委員或評分過少）",  # cannot rank without this judge
}
FLAG_FAVOURS = "偏高：較其他評審之中位數高 {deviation:+.2f} 分（該評審平常 {usual:+.2f} ± {sd:.2f}）"
# favours: deviation above the others' median (the judge's usual deviation ± SD)
FLAG_DISFAVOURS = "偏低：較其他評審之中位數 {deviation:+.2f} 分（該評審平常 {usual:+.2f} ± {sd:.2f}）"
FLAG_CAVEAT = "旗標僅提示應檢查利益迴避，並非違失之認定。"  # a prompt to check ties, not a finding
CHANGE_TEXT = "{entry}：名次 {rank_before}→{rank_after}，獎項 {tier_before}→{tier_after}"
# entry: rank before → after, tier before → after
NONE_MARK = "—"

READ_W = ((0.7, "評審對作品排序大致相同"), (0.3, "評審對作品排序部分一致"), (None, "評審對作品排序幾乎不一致"))
# judges order the entries much the same way / partly agree / hardly agree
READ_ICC = ((0.9, "極佳（0.9 以上）"), (0.75, "良好（0.75–0.9）"), (0.5, "中等（0.5–0.75）"), (None, "不佳（低於 0.5）"))
# excellent / good / moderate / poor (Koo & Li 2016)
READ_ALPHA = ((0.8, "可信（0.8 以上）"), (0.667, "勉強可用（0.667–0.8）"), (None, "一致性過低，請了解評審差異原因（低於 0.667）"))
# reliable / tentative / too low
READ_P = ((None, "p < 0.05：一致性顯著"),)  # significant agreement
READ_RATIO_LOW = "幾乎未區分作品（低於 0.5）"  # barely separates entries
READ_RATIO_HIGH = "評分偏向極端（高於 2）"  # extremes
READ_CORR_NEGATIVE = "與其他評審看法相反，請了解原因"  # sees the field the other way round

# --- 頒獎典禮名單 ------------------------------------------------------------------------------------
AWARD_TEXT_DEFAULT = "{category} {tier}"
# default certificate text (the tier has none of its own): the category and the tier's name
AWARD_TEXT_FIELDS = ("agency", "edition", "category", "tier", "title", "head", "rank")

# --- 稽核摘要 --------------------------------------------------------------------------------------
AUDIT_EVENTS = "本階段稽核事件"  # audit events of this stage
AUDIT_TOTAL = "合計"  # total
AUDIT_CHAIN = "稽核鏈驗證（匯出時）"  # chain verification at export time
AUDIT_CHAIN_RESULT = "驗證結果"  # result
AUDIT_NONE = "（無）"  # none
AUDIT_CHECKPOINT = "稽核檢查點（Merkle）"  # audit checkpoint (Merkle tree)
AUDIT_CHECKPOINT_ROOT = "事件數與根雜湊"  # event count and root hash
AUDIT_CHECKPOINT_AT = "建立時間與原因"  # when and why it was taken
CHECKPOINT_NONE = "尚無檢查點"  # no checkpoint yet
CHECKPOINT_AT = "{at}（{reason}）"  # time (reason)
ACTION_LABELS = {
    "stage_created": "建立評選階段", "stage_updated": "修改評選階段", "stage_deleted": "刪除評選階段",
    "stage_populated": "列入參選作品", "entries_advanced": "晉級作品",
    "assignment_added": "分派評審", "assignment_automatic": "自動分派", "assignment_confirmed": "評審確認無利益迴避",
    "assignment_conflicted": "評審申報利益迴避", "assignment_removed": "移除分派",
    "judge_withdrawn": "評審退出", "judge_reinstated": "評審恢復",
    "sheet_saved": "儲存評分表草稿", "sheet_submitted": "送出評分表", "sheet_reopened": "退回評分表",
    "sheet_excluded": "排除評分表", "sheet_kept": "保留評分表",
    "offline_sheet_downloaded": "下載離線評分表", "offline_sheet_imported": "匯入離線評分表",
    "discussion_opened": "開放討論", "discussion_closed": "關閉討論",
    "results_frozen": "凍結成績", "results_unfrozen": "解除凍結", "results_exported": "匯出成績",
}
# Chinese names of the audit actions (the code is shown beside)
