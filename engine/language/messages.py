"""The designer's messages: every diagnostic code's words in English and Chinese.

A diagnostic keeps a stable `code` and the values that caused it; its message is rendered
from this catalogue (an `engine.catalogue.Catalogue`, filled by its rules) in the
language asked for, so tools match on the code while people read the words. A
misspelt key or a value outside a list is followed by "did you mean" or the choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.catalogue import Catalogue, Lang, Words, fill

__all__ = ["CHOICES", "MESSAGES", "SUGGESTION", "Lang", "Words", "render"]

# code -> (English, Chinese). Placeholders are filled from the diagnostic's args.
MESSAGES = Catalogue.en_zh("designer", {
    # --- the file itself
    "file_not_found": ("the file does not exist", "文件不存在"),
    "file_unreadable": ("the file cannot be read: {reason}", "无法读取文件：{reason}"),
    "file_too_large": (
        "the file is {size} bytes; definitions larger than {limit} bytes (1 MiB) are refused",
        "文件大小为 {size} 字节；超过 {limit} 字节（1 MiB）的流程定义不予处理"),
    "not_utf8": (
        "the file is not UTF-8 text (the byte at this place cannot be read); save it as UTF-8",
        "文件不是 UTF-8 文本（此处的字节无法识别）；请以 UTF-8 编码保存"),
    "not_text": ("the text contains characters that are not valid Unicode",
                 "文本中含有无效的 Unicode 字符"),
    "empty_file": (
        "the file is empty (nothing but blank lines and comments); a definition needs at "
        "least id, version, title, states and transitions",
        "文件为空（只有空行和注释）；流程定义至少需要 id、version、title、states 和 "
        "transitions"),
    "line_breaks_lost": (
        "the whole definition is on one line: its line breaks were lost on the way (curl's "
        "-d removes them; send the file with --data-binary @FILE)",
        "整个流程定义只有一行：换行符在传送中丢失了（curl 的 -d 会删除换行；"
        "请用 --data-binary @文件 发送）"),
    "not_a_mapping": (
        "the file must be a set of 'key: value' lines (id, version, states, ...), but it "
        "holds {actual}",
        "文件应由“键: 值”行组成（id、version、states 等），但其内容是{actual}"),
    # --- YAML
    "yaml_tab": ("a tab is used for indentation; YAML needs spaces here",
                 "此处用了制表符（Tab）缩进；YAML 只能用空格缩进"),
    "yaml_syntax": ("this is not valid YAML: {problem}", "这里不是有效的 YAML：{problem}"),
    "yaml_undefined_alias": (
        "'*{name}' refers to an anchor '&{name}' that is not defined before it",
        "“*{name}”引用的锚点“&{name}”在此之前没有定义"),
    "yaml_multiple_documents": (
        "the file holds more than one YAML document (a second '---'); a definition is "
        "one document",
        "文件中有多个 YAML 文档（出现了第二个“---”）；一个流程定义只能是一个文档"),
    "yaml_control_character": (
        "the file contains a control character ({character}) that YAML does not allow",
        "文件中含有 YAML 不允许的控制字符（{character}）"),
    "yaml_too_deep": ("values are nested more than {limit} levels deep",
                      "数据嵌套超过 {limit} 层"),
    "yaml_bomb": (
        "anchors and aliases (&name, *name) would expand this file to more than {limit} "
        "values; it is refused, as this is how 'billion laughs' attacks work",
        "锚点与别名（&name、*name）展开后超过 {limit} 个值；为防范“十亿笑声”攻击，"
        "此文件不予处理"),
    "yaml_recursive_alias": (
        "this alias refers to a value that contains itself, which would never end",
        "此别名引用了包含它自身的值，展开将永无止境"),
    "yaml_tag": (
        "the tag '{tag}' is not allowed: a definition holds only text, numbers, true/false, "
        "lists and mappings",
        "不允许使用标签“{tag}”：流程定义只能包含文本、数字、true/false、列表和映射"),
    "yaml_tag_expression": (
        "'{tag}' reads as a YAML tag because it starts with '!'; an expression starting with "
        "'!' (not) must be put in quotes: '{tag}'",
        "“{tag}”以“!”开头，会被 YAML 当作标签；以“!”（非）开头的表达式必须整体加引号："
        "'{tag}'"),
    "thousands_separator": (
        "{name} is written '{value}': write numbers without thousands separators, as {plain}",
        "{name}写成了“{value}”：数字中不要使用千位分隔符（逗号），请写成 {plain}"),
    "expression_word_operator": (
        "'{word}' is not an operator in expressions: write '{operator}' instead",
        "表达式中不能用“{word}”：请改用“{operator}”"),
    "expression_thousands_separator": (
        "'{value}' has a thousands separator: write numbers without commas, as {plain}",
        "“{value}”中含有千位分隔符：数字中不要使用逗号，请写成 {plain}"),
    "yaml_bad_tagged_value": ("'{value}' is not {expected}", "“{value}”不是{expected}"),
    "yaml_complex_key": ("a key must be plain text", "键必须是普通文本"),
    "yaml_merge_invalid": (
        "'<<' must be followed by a mapping or a list of mappings",
        "“<<”后面必须是映射或映射的列表"),
    "duplicate_key": (
        "'{key}' appears twice in the same place (first on line {first_line}); keep one",
        "“{key}”在同一处出现了两次（第一次在第 {first_line} 行）；请只保留一个"),
    # --- shape (pydantic)
    "missing_key": ("{where} needs '{key}', which is missing", "{where}缺少必填项“{key}”"),
    "unknown_key": ("'{key}' is not a known key here", "“{key}”不是此处可用的键"),
    "wrong_type": ("{name} must be {expected}, but it is {actual}",
                   "{name}应为{expected}，但这里是{actual}"),
    "empty_mapping": (
        "{name} is empty: write {{}} after the colon if it has nothing to say, or indent its "
        "lines below it",
        "{name}是空的：如果没有内容，请在冒号后写 {{}}；否则请把它的内容缩进写在下面"),
    "bad_name": (
        "'{value}' is not a valid name: use lower-case letters a-z, digits and _, starting "
        "with a letter",
        "“{value}”不是有效的名称：只能用小写字母 a-z、数字和下划线，并以字母开头"),
    "bad_version": ("'{value}' is not a version number like 1.0.0 (major.minor.patch)",
                    "“{value}”不是形如 1.0.0 的版本号（主版本.次版本.修订号）"),
    "bad_pattern": ("'{value}' does not have the expected form", "“{value}”的格式不符合要求"),
    "bad_choice": ("'{value}' is not allowed here", "此处不能用“{value}”"),
    "empty_value": ("{name} must not be empty", "{name}不能为空"),
    "too_long": ("{name} is too long: at most {limit} characters",
                 "{name}过长：最多 {limit} 个字符"),
    "too_short": ("{name} is too short: at least {limit} characters",
                  "{name}过短：至少 {limit} 个字符"),
    "too_small": ("{name} must be at least {limit}", "{name}不得小于 {limit}"),
    "too_large": ("{name} must be at most {limit}", "{name}不得大于 {limit}"),
    "label_needs_language": ("a label needs text in at least one of zh or en",
                             "标签至少需要 zh 或 en 中的一种文字"),
    "enum_needs_values": ("an enum field needs a non-empty list of values",
                          "枚举（enum）字段需要非空的 values 列表"),
    "values_only_for_enum": ("values are only allowed on enum and list fields",
                             "只有 enum 和 list 字段可以有 values"),
    "list_needs_items": ("a list field needs items: the type of its elements",
                         "列表（list）字段需要 items：说明元素的类型"),
    "min_above_max": ("min is greater than max", "min 大于 max"),
    "pattern_only_for_text": ("a pattern is only allowed on string and text fields",
                              "只有 string 和 text 字段可以有 pattern"),
    "bad_regex": ("the pattern is not a valid regular expression: {detail}",
                  "pattern 不是有效的正则表达式，请检查括号、方括号和转义符"),
    "regex_unsupported": (
        "the pattern cannot be used ({detail}): patterns are matched in linear time, which "
        "rules out back-references (\\1) and look-around ((?=...), (?!...), (?<=...)); "
        "write the form without them",
        "此 pattern 无法使用：为保证匹配耗时与输入长度成正比，不支持反向引用（\\1）和前后查找"
        "（(?=...)、(?!...)、(?<=...)）；请改用不含这些写法的形式"),
    "timer_needs_one_length": ("a timer needs exactly one of duration or working_days",
                               "定时器必须在 duration 和 working_days 中恰好填写一个"),
    "timer_needs_trigger": ("a timer whose action is 'fire' needs a trigger to fire",
                            "动作为 fire 的定时器需要填写要触发的 trigger"),
    "negative_working_days": ("working_days must not be negative", "working_days 不能为负数"),
    "invalid_value": ("{detail}", "{detail}"),
    # --- meaning (lint): errors
    "no_initial_state": (
        "no state is marked 'initial: true'; exactly one top-level state must be where "
        "cases start",
        "没有标记为“initial: true”的状态；必须有且只有一个顶层状态作为事项的起点"),
    "several_initial_states": (
        "'{state}' is marked initial, but '{first}' already is; only one top-level state "
        "may be initial",
        "“{state}”被标记为初始状态，但“{first}”已是初始状态；顶层只能有一个初始状态"),
    "composite_no_initial": (
        "'{state}' has steps (states:) but none of them is marked 'initial: true'",
        "“{state}”包含步骤（states:），但没有一个步骤标记为“initial: true”"),
    "composite_several_initial": (
        "step '{state}' is marked initial, but '{first}' already is; only one step of "
        "'{parent}' may be initial",
        "步骤“{state}”被标记为初始，但“{first}”已是初始步骤；“{parent}”只能有一个初始步骤"),
    "final_has_children": ("'{state}' is final, so it cannot have steps (states:)",
                           "“{state}”是终止状态，不能包含步骤（states:）"),
    "final_has_transitions": (
        "'{state}' is final: no transition may leave it, but '{trigger}' does",
        "“{state}”是终止状态，不能有离开它的流转，但“{trigger}”从它出发"),
    "final_has_checklist": (
        "'{state}' is final: it cannot have a checklist, since a case there is closed",
        "“{state}”是终止状态：事项在此已结束，不能设置清单"),
    "final_has_timers": (
        "'{state}' is final: it cannot have timers, since a case there is closed",
        "“{state}”是终止状态：事项在此已结束，不能设置定时器"),
    "duplicate_state": (
        "the state id '{state}' is already used on line {first_line}; state ids must be "
        "unique in the whole workflow, nested steps included",
        "状态编号“{state}”已在第 {first_line} 行使用；整个流程中（含嵌套步骤）状态编号不得重复"),
    "reserved_state": (
        "'any' cannot be a state id: it is reserved to mean every state in 'from:'",
        "“any”不能用作状态编号：它在“from:”中表示所有状态"),
    "unknown_state": ("there is no state '{state}'", "没有名为“{state}”的状态"),
    "any_not_alone": (
        "'any' (or '*') must stand alone in 'from:', not in a list with other states",
        "“any”（或“*”）在“from:”中必须单独使用，不能与其他状态一起列出"),
    "timer_trigger_undefined": (
        "the timer fires '{trigger}', but no transition has that trigger",
        "定时器触发“{trigger}”，但没有任何流转使用这个触发器"),
    "timer_trigger_not_from_state": (
        "the timer fires '{trigger}', but no transition with that trigger leaves '{state}'",
        "定时器触发“{trigger}”，但没有使用该触发器、从“{state}”出发的流转"),
    "relative_to_unknown": (
        "'{field}' is not a field; relative_to takes 'entry' or the name of a date or "
        "datetime field",
        "“{field}”不是字段；relative_to 只能是“entry”或某个日期（date/datetime）字段的名称"),
    "relative_to_not_date": (
        "'{field}' is a {type} field; relative_to needs a date or datetime field",
        "“{field}”是 {type} 类型的字段；relative_to 需要日期（date/datetime）字段"),
    "bad_duration": (
        "'{value}' is not a duration: write it in ISO 8601, e.g. P30D (30 days), P6M "
        "(6 months), P1Y (1 year), PT12H (12 hours), or params.NAME{hint}",
        "“{value}”不是有效的时长：请按 ISO 8601 书写，例如 P30D（30 天）、P6M（6 个月）、"
        "P1Y（1 年）、PT12H（12 小时），或写 params.参数名{hint}"),
    "bad_working_days": (
        "working_days must be a whole number or params.NAME, not '{value}'",
        "working_days 必须是整数或 params.参数名，而不是“{value}”"),
    "unknown_parameter": ("there is no parameter '{name}'", "没有名为“{name}”的参数"),
    "parameter_wrong_type": (
        "parameter '{name}' is of type {type}, but {use} needs a parameter of type "
        "{expected}",
        "参数“{name}”的类型是 {type}，但{use}需要 {expected} 类型的参数"),
    "unknown_effect_field": (
        "this effect sets '{field}', which is not a declared field",
        "此效果设置的“{field}”不是已声明的字段"),
    "unknown_title_field": ("title_field names '{field}', which is not a declared field",
                            "title_field 指定的“{field}”不是已声明的字段"),
    "duplicate_timer": ("timer id '{timer}' is used twice in state '{state}'",
                        "状态“{state}”中定时器编号“{timer}”重复"),
    "expression_syntax": ("the expression cannot be read: {detail}",
                          "表达式无法解析：{detail}"),
    "expression_unknown_name": (
        "'{name}' is not known; an expression can read data.FIELD, input.FIELD, "
        "params.NAME, checklist.ITEM, now, today, entered_at, entered_on and state",
        "“{name}”无法识别；表达式可以读取 data.字段、input.字段、params.参数、"
        "checklist.清单项、now、today、entered_at、entered_on 和 state"),
    "expression_unknown_function": ("'{name}()' is not a known function",
                                    "“{name}()”不是可用的函数"),
    "expression_unknown_data": ("'data.{name}' is not a declared field",
                                "“data.{name}”不是已声明的字段"),
    "expression_unknown_params": ("'params.{name}' is not a declared parameter",
                                  "“params.{name}”不是已声明的参数"),
    "expression_unknown_input": ("'input.{name}' is not an input of this transition",
                                 "“input.{name}”不是此流转的输入项"),
    "expression_unknown_checklist": (
        "'checklist.{name}' is not a checklist item of the state this transition leaves",
        "“checklist.{name}”不是此流转出发状态的清单项"),
    "expression_no_input": (
        "'input' is not available here: only a transition's guard and effects can read it",
        "此处不能使用“input”：只有流转的条件（guard）和效果（effects）可以读取它"),
    "expression_no_checklist": (
        "'checklist' is not available here: only a transition's guard and effects can "
        "read it",
        "此处不能使用“checklist”：只有流转的条件（guard）和效果（effects）可以读取它"),
    "unknown_role": ("the role '{role}' is not declared in the workflow's roles",
                     "角色“{role}”没有在流程的 roles 中声明"),
    "automatic_cycle": (
        "automatic transitions could loop forever: {cycle}",
        "自动流转可能无限循环：{cycle}"),
    "parameter_default_type": ("the default of parameter '{name}' must be {expected}",
                               "参数“{name}”的默认值应为{expected}"),
    "parameter_default_range": (
        "the default {value} of parameter '{name}' is outside its range ({bounds})",
        "参数“{name}”的默认值 {value} 超出其范围（{bounds}）"),
    "field_default_invalid": ("the default of field '{field}' {problem}",
                              "字段“{field}”的默认值{problem}"),
    "migration_unknown_state": (
        "the migration from version {version} moves cases to '{state}', which is not a "
        "state of this version",
        "从 {version} 版本迁移时把事项移到“{state}”，但本版本没有这个状态"),
    "counting_without_days": (
        "'counting' says how 'days' are counted; this timer has no 'days' (working_days "
        "are always working days, a duration always calendar time)",
        "“counting”说明 days 如何计算；此定时器没有 days（working_days 总是按工作日，"
        "duration 总是按日历时间）"),
    "counting_parameter": (
        "parameter '{name}' must be of type string with the values working and calendar "
        "to choose how days are counted",
        "参数“{name}”必须是 string 类型，取值为 working 或 calendar，才能决定天数的计算方式"),
    "parameter_default_choice": (
        "the default of parameter '{name}' must be one of its values",
        "参数“{name}”的默认值必须是其可选值之一"),
    "placeholder_unknown": (
        "'{{{name}}}' names nothing this text can show; a text can name {{params.NAME}}, "
        "{{data.FIELD}}{input} (write {{{{ and }}}} for the braces themselves)",
        "“{{{name}}}”不是此处文字可以显示的内容；文字中可以写 {{params.参数}}、"
        "{{data.字段}}{input}（大括号本身请写成 {{{{ 和 }}}}）"),
    "placeholder_undeclared": ("'{{{root}.{name}}}': {what}", "“{{{root}.{name}}}”：{what}"),
    "expression_nested_comprehension": (
        "'{inner}' inside '{outer}': a comprehension may not run inside another, since its "
        "cost would multiply with the sizes of both lists; use one comprehension, or keep "
        "the count in a field",
        "“{outer}”里又嵌套了“{inner}”：推导式不能相互嵌套，否则计算量会随两个列表的长度相乘；"
        "请只用一层推导式，或把统计结果保存在字段中"),
    "expression_literal_too_large": (
        "this literal has {count} elements; at most {limit} are allowed in an expression "
        "(put long lists in a parameter or a field)",
        "此字面量有 {count} 个元素；表达式中最多允许 {limit} 个（较长的列表请放在参数或字段中）"),
    "expression_type": (
        "the expression combines values whose types do not go together ({reads}): text "
        "cannot be compared with a number, nor a whole number added to a decimal; compare "
        "like with like, or convert with int(), double() or string()",
        "表达式中组合了类型不相容的值（{reads}）：文本不能与数字比较，整数也不能直接与小数相加；"
        "请比较同类的值，或用 int()、double()、string() 转换"),
    "guard_not_boolean": (
        "a condition must give true or false, but this one gives another kind of value",
        "条件的结果必须是 true 或 false，但此条件得出的是其他类型的值"),
    "effect_type": (
        "'{field}' holds {type}, but this expression gives a value that {problem}",
        "“{field}”存放的是{type}，但此表达式得出的值{problem}"),
    "read_before_set": (
        "'data.{field}' is set by this transition's effects ({effect}), so it has no value "
        "yet when the condition is checked (conditions see the case before the transition): "
        "read the input instead",
        "“data.{field}”由此流转的效果（{effect}）设置，检查条件时它还没有值（条件看到的是流转"
        "之前的数据）：请改为读取输入项"),
    "version_changed": (
        "version {version} of '{workflow}' is already registered with different content; "
        "raise the version to register the change (cases running on {version} keep the "
        "rules they started with); this file is not loaded",
        "“{workflow}”的 {version} 版本已以不同内容登记；修改后请提高版本号再登记（按 {version} "
        "版本运行的事项保持原有规则）；此文件未加载"),
    "compile_failed": ("the workflow could not be compiled: {detail}",
                       "流程无法编译：{detail}"),
    "internal_error": (
        "the validator failed unexpectedly on this file ({detail}); please report it",
        "校验程序处理此文件时意外出错（{detail}）；请报告此问题"),
    # --- meaning (lint): warnings
    "unreachable_state": ("'{state}' can never be reached from the initial state '{initial}'",
                          "从初始状态“{initial}”永远无法到达“{state}”"),
    "no_way_out": (
        "'{state}' is not final, but no transition leads out of it: cases there would be "
        "stuck",
        "“{state}”不是终止状态，却没有离开它的流转：进入此处的事项将无法继续"),
    "trigger_never_enabled": (
        "the trigger '{trigger}' can never be used: all its transitions start in states "
        "that cannot be reached",
        "触发器“{trigger}”永远无法使用：它的所有流转都从无法到达的状态出发"),
    "field_never_set": (
        "the field '{field}' is never set and never supplied, yet {reason}: it is not "
        "required at the start, has no default, and no effect sets it",
        "字段“{field}”从未被设置也从未被提供，但{reason}：它开始时不是必填、没有默认值、"
        "也没有任何效果设置它"),
    "guard_without_refusal": (
        "this transition has a guard but no refusal text: caseworkers will only see a "
        "generic refusal",
        "此流转有条件（guard）却没有拒绝说明（refusal）：社工只会看到笼统的拒绝提示"),
})

SUGGESTION = Words("; did you mean '{suggestion}'?", "；是不是“{suggestion}”？")
CHOICES = Words("; allowed: {choices}", "；可用的有：{choices}")


def render(code: str, args: Mapping[str, Any], lang: str = "en") -> str:
    """The message of `code` in `lang`, with a "did you mean" or the allowed choices."""
    entry = MESSAGES.get(code, Words("{detail}", "{detail}"))
    text = fill(entry.get(lang), lang, args)
    if args.get("suggestion"):
        text += fill(SUGGESTION.get(lang), lang, {"suggestion": args["suggestion"]})
    elif args.get("choices"):
        text += fill(CHOICES.get(lang), lang, {"choices": args["choices"]})
    return text
