"""The two star schemes and their key tasks as first loaded (data migration 0002 and
`seed_demo`). After that they are data: city admins edit them in the Django admin.

Rural tasks follow the 2023 方案 (domain.md §0); the urban stars without a task list
there carry the tasks of the Henan urban-community guidance as commonly listed."""

RURAL, URBAN = "rural", "urban"

SCHEMES: dict[str, list[tuple[str, str, bool, list[str]]]] = {
    RURAL: [
        (
            "branch",
            "支部过硬星",
            True,
            [
                "学习宣传贯彻党的二十大精神",
                "落实“四议两公开”工作法",
                "落实“一编三定”",
                "严格落实“三会一课”制度",
            ],
        ),
        (
            "industry",
            "产业兴旺星",
            False,
            [
                "落实“两不愁三保障”及饮水安全、就业、金融等防返贫政策",
                "稳定粮食生产",
                "发展“一村一品”特色产业",
                "开展良种引进推广",
                "组织专家技术培训",
            ],
        ),
        (
            "ecology",
            "生态宜居星",
            False,
            [
                "编制“多规合一”实用性村庄规划",
                "开展“清脏、治乱、拆违、增绿”",
                "推进“果树进村”",
                "建立群众参与人居环境整治长效机制",
                "开展户厕改造问题排查整改",
            ],
        ),
        (
            "safety",
            "平安法治星",
            False,
            [
                "开展防范电信诈骗、非法集资、网络赌博宣传",
                "开展安全教育",
                "定期排查安全隐患",
                "做好防溺水、防触电工作",
            ],
        ),
        (
            "civility",
            "文明幸福星",
            False,
            [
                "推进婚丧嫁娶简办",
                "保障适龄儿童接受义务教育",
                "做好困难学生资助",
                "开展卫生健康宣传和爱国卫生运动",
                "开展职业技能培训（“一技在身、一证在手”）",
            ],
        ),
    ],
    URBAN: [
        (
            "branch",
            "支部过硬星",
            True,
            [
                "学习宣传贯彻党的二十大精神",
                "健全社区党组织领导下的居民自治机制",
                "落实“一编三定”",
                "严格落实“三会一课”制度",
            ],
        ),
        (
            "business",
            "宜业兴业星",
            False,
            [
                "开展就业创业服务",
                "服务辖区企业和个体工商户",
                "发展社区服务业态",
                "开展职业技能培训",
            ],
        ),
        (
            "sharing",
            "共建共享星",
            False,
            [
                "推动驻区单位党组织共驻共建",
                "组织在职党员到社区报到服务",
                "推进物业服务和小区治理",
                "开展社区志愿服务",
            ],
        ),
        (
            "safety",
            "平安法治星",
            False,
            [
                "开展防范电信诈骗、非法集资、网络赌博宣传",
                "开展安全教育",
                "定期排查安全隐患",
                "开展矛盾纠纷排查化解",
            ],
        ),
        (
            "harmony",
            "幸福和谐星",
            False,
            [
                "开展为老、为小、助残等便民服务",
                "弘扬文明新风、开展邻里互助",
                "开展卫生健康宣传和爱国卫生运动",
                "丰富居民文化体育活动",
            ],
        ),
    ],
}


def ensure_star_types(star_type_model, star_task_model) -> int:
    """Create the star types and tasks that are missing (never changes existing ones, so
    an admin's edits stay). Works with historical models in migrations. Returns rows made."""
    made = 0
    for scheme, stars in SCHEMES.items():
        for order, (code, name, foundation, tasks) in enumerate(stars, start=1):
            star, created = star_type_model.objects.get_or_create(
                scheme=scheme,
                code=code,
                defaults={"name": name, "order": order, "is_foundation": foundation},
            )
            if created:
                made += 1
                star_task_model.objects.bulk_create(
                    [
                        star_task_model(star_type=star, order=i, title=title)
                        for i, title in enumerate(tasks, start=1)
                    ]
                )
                made += len(tasks)
    return made
