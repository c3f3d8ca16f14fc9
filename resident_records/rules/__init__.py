"""Pure rules of the resident register, each naming the article of the law or section of the standard it implements."""  # noqa: E501
