'use server';
// The server action behind the form: store, publish, re-render this page.
import { revalidatePath } from 'next/cache';
import { MAX_TITLE, addTodo } from '../lib/todos.js';

export async function add(formData) {
  const title = String(formData.get('title') || '').trim().slice(0, MAX_TITLE);
  if (!title) return;
  await addTodo(title);
  revalidatePath('/'); // this tab sees it at once; the others through livegate
}
