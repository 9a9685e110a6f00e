"""Canned replies offered in the console (plain Chinese, no personal data)."""
from __future__ import annotations

from typing import List

from services.agent_desk.schemas import CannedResponseOut

CANNED_RESPONSES: List[CannedResponseOut] = [
    CannedResponseOut(id="greet", category="通用", title="问候",
                      text="您好，我是人工客服，很高兴为您服务。请问有什么可以帮您？"),
    CannedResponseOut(id="wait", category="通用", title="请稍候",
                      text="好的，正在为您查询，请稍候。"),
    CannedResponseOut(id="verify", category="安全", title="身份核验提示",
                      text="为保障您的账户安全，请在手机银行完成身份验证后再继续办理，客服不会向您索要密码或验证码。"),
    CannedResponseOut(id="card_lost", category="银行卡", title="挂失指引",
                      text="如银行卡遗失，请立即在手机银行“卡片管理—挂失”中办理临时挂失，或拨打客服热线办理。"),
    CannedResponseOut(id="branch", category="网点", title="网点办理",
                      text="该业务需要您本人携带有效身份证件到就近网点办理，建议提前在手机银行预约。"),
    CannedResponseOut(id="anything_else", category="通用", title="还有其他问题吗",
                      text="请问还有其他可以帮您的吗？"),
    CannedResponseOut(id="bye", category="通用", title="结束语",
                      text="感谢您的耐心，祝您生活愉快！稍后可能邀请您对本次服务进行评价。"),
]
