"""Account management (客户经营): who looks after each customer, how often to visit, where the
relationship stands, and what to do before a customer leaves.

The sources' schemes beyond the classification itself (docs/methods.md, *Account management*):

- :mod:`~analysis.accounts.salespeople`: customers, key customers and sales per salesperson (专人负责),
  key customers without an owner, and next quarter's visit plan by route (路序分类 → 访问计划),
  《如何做好客户分类管理》;
- :mod:`~analysis.accounts.lifecycle`: lifecycle stage, cooperation depth, value level and service
  level, 《财税客户如何分类管理》;
- :mod:`~analysis.accounts.ibm_types`: IBM's four types (忠诚 / 快速成长 / 睡眠 / 值得重视和培养),
  《客户管理抓住具有价值的“奶油层”客户》;
- :mod:`~analysis.accounts.retention`: an action per at-risk customer, the win-back list and churn by
  lifecycle stage, 《财税客户如何分类管理》 on churn prevention;
- :mod:`~analysis.accounts.wallet`: share of wallet (our sales ÷ the customer's total purchases), the
  cooperation ground of the annual screening, 《如何做好客户分类管理》.

Every function is pure: DataFrame in, new DataFrame out.
"""
